// The demo maker space behind `npm start` / `gdo sim` (issue 6, "Simulated site"): who the people are,
// which nodes exist and how each one's (fake) hardware is wired, and the weekly schedules. Data only;
// site.ts brings it to life.
import { randomBytes } from 'node:crypto';
import { localTime } from '../../dapps/door/schedule.ts';

export const SITE_NAME = 'Demo Maker Space';
export const ADMIN_NAME = 'Ada (admin)';
/** The passphrase of the demo operator key (for `gdo ... --data DIR/office` after `gdo sim --keep`). */
export const DEMO_PASSPHRASE = 'gdo-sim-demo';
/** The admin desk's name as a sync peer. */
export const DESK = 'office';
/** Where the simulated nodes reach the hub (each through its own link on loopback); the hub's broker
 *  certificate names it besides hub.local and hub (gdo provision --broker-name 127.0.0.1). */
export const SIM_BROKER_HOST = '127.0.0.1';

export type NodeName = 'hub' | 'front-door' | 'laser';
export type Target = 'door' | 'laser';

export interface Person {
  id: string;
  name: string;
  /** One line for `people`. */
  about: string;
  /** A few words for the list shown at start. */
  short: string;
  groups: string[];
  /** false: a card the ledger has never seen. */
  member: boolean;
  suspended?: boolean;
  laser?: { trainer?: boolean; maintainer?: boolean; certified?: boolean };
}

export const PEOPLE: readonly Person[] = [
  { id: 'alice', name: 'Alice', short: 'member', about: 'member (open hours), not certified on the laser', groups: ['members'], member: true },
  { id: 'bob', name: 'Bob', short: 'staff', about: 'staff (the door at any time)', groups: ['members', 'staff'], member: true },
  { id: 'carol', name: 'Carol', short: 'laser trainer', about: 'member, laser trainer', groups: ['members'], member: true, laser: { trainer: true } },
  { id: 'dan', name: 'Dan', short: 'laser maintainer', about: 'member, laser maintainer, certified', groups: ['members'], member: true, laser: { maintainer: true, certified: true } },
  { id: 'erin', name: 'Erin', short: 'suspended', about: 'suspended member', groups: ['members'], member: true, suspended: true },
  { id: 'frank', name: 'Frank', short: 'evening pass', about: 'evening pass (weekdays 18:30-22:00 only)', groups: ['evening'], member: true },
  { id: 'stranger', name: 'a stranger', short: 'unknown card', about: 'a card the ledger has never seen', groups: [], member: false },
];

export const DOOR = { id: 'front', name: 'Front door', node: 'front-door' as const, resource: 'door:front' };
export const LASER = { id: 'laser', name: 'Laser cutter', node: 'laser' as const, resource: 'machine:laser' };

/** BCM lines of the fake GPIO headers: those of docs/wiring.md (test/docs/wiring.test.ts checks them). */
export const PINS = {
  door: { strike: 17, door_switch: 5, rex: 6, led: 22, buzzer: 23 },
  laser: { relay: 17, led: 22, buzzer: 23 }, // its own Pi: the same header positions as the door's strike, LED, buzzer
} as const;

export const TIMINGS = { unlock_ms: 3000, held_open_ms: 5000, certify_window_ms: 60_000, poll_ms: 100 } as const;

export interface NodePlan {
  name: NodeName;
  roles: Array<'door' | 'machine' | 'hub'>;
  what: string;
  /** The agent configuration beyond what first boot writes (identity, org, broker). */
  hardware: Record<string, unknown>;
}

const HTTP = { listen: '127.0.0.1:0' };

export const NODES: readonly NodePlan[] = [
  {
    name: 'hub', roles: ['hub'], what: 'hub: embedded MQTT broker, a full replica',
    hardware: { sync: { embedded_listen: '127.0.0.1:0', broker_operators: [DESK] }, http: HTTP },
  },
  {
    name: 'front-door', roles: ['door'], what: `door '${DOOR.id}': strike ${PINS.door.strike}, reed ${PINS.door.door_switch}, exit button ${PINS.door.rex}`,
    hardware: {
      readers: [{ id: 'entry', transport: 'simulated', poll_ms: TIMINGS.poll_ms }],
      gpio: { backend: 'fake', fake_state_file: 'gpio.json' },
      doors: [{
        id: DOOR.id, reader: 'entry', unlock_ms: TIMINGS.unlock_ms, held_open_ms: TIMINGS.held_open_ms,
        pins: {
          strike: { line: PINS.door.strike },
          door_switch: { line: PINS.door.door_switch, debounce_ms: 0 },
          rex: { line: PINS.door.rex, active_low: true, debounce_ms: 0 }, // a button to ground, line pulled up
          led: { line: PINS.door.led },
          buzzer: { line: PINS.door.buzzer },
        },
      }],
      http: HTTP,
    },
  },
  {
    name: 'laser', roles: ['machine'], what: `machine '${LASER.id}' (card-present): relay ${PINS.laser.relay}`,
    hardware: {
      readers: [{ id: 'laser', transport: 'simulated', poll_ms: TIMINGS.poll_ms }],
      gpio: { backend: 'fake', fake_state_file: 'gpio.json' },
      machines: [{
        id: LASER.id, reader: 'laser', mode: 'card-present', certify_window_ms: TIMINGS.certify_window_ms,
        pins: { relay: { line: PINS.laser.relay }, led: { line: PINS.laser.led }, buzzer: { line: PINS.laser.buzzer } },
      }],
      http: HTTP,
    },
  },
];

/** Node names and the words people use for them on the prompt. */
export function nodeNamed(word: string): NodeName | undefined {
  const w = word.toLowerCase();
  if (w === 'hub') return 'hub';
  if (w === 'door' || w === 'front-door' || w === 'front') return 'front-door';
  if (w === 'laser' || w === 'laser-cutter') return 'laser';
  return undefined;
}

export function targetNamed(word: string): Target | undefined {
  const n = nodeNamed(word);
  return n === 'front-door' ? 'door' : n === 'laser' ? 'laser' : undefined;
}

export function personNamed(word: string): Person | undefined {
  const w = word.toLowerCase();
  return PEOPLE.find((p) => p.id === w || p.name.toLowerCase() === w);
}

/** Fresh card UIDs for one run (7-byte NFC UIDs). They live only in this process and the agents' readers. */
export function issueCards(): Map<string, Buffer> {
  return new Map(PEOPLE.map((p) => [p.id, Buffer.concat([Buffer.from([0x04]), randomBytes(6)])]));
}

// The site's time zone is picked so that it is mid-afternoon there now: the same badges then get the same
// answers whenever the demo runs (Alice inside open hours, Frank outside his evening pass), and the
// schedules still show what they are for, local time in an IANA zone. Neighbouring zones here are at most
// 5 h apart, so the one nearest 14:00 is within 2.5 h of it: hours away from either schedule's edge.
const ZONES = [
  'Europe/Berlin', 'America/New_York', 'Asia/Tokyo', 'Europe/London', 'America/Los_Angeles', 'Asia/Kolkata',
  'America/Sao_Paulo', 'Pacific/Auckland', 'Pacific/Honolulu',
];

export function siteZone(at: Date): { tz: string; local: string } {
  let best = { tz: ZONES[0]!, minute: localTime(at, ZONES[0]!).minute };
  for (const tz of ZONES.slice(1)) {
    const minute = localTime(at, tz).minute;
    if (Math.abs(minute - 14 * 60) < Math.abs(best.minute - 14 * 60)) best = { tz, minute };
  }
  return { tz: best.tz, local: hhmm(best.minute) };
}

function hhmm(minute: number): string {
  return `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
}

const WEEK = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];

export function schedules(tz: string): Array<{ id: string; name: string; tz: string; windows: Array<{ days: string[]; from: string; to: string }> }> {
  return [
    { id: 'open-hours', name: 'Open hours', tz, windows: [{ days: WEEK, from: '08:00', to: '22:00' }] },
    { id: 'evenings', name: 'Evening pass', tz, windows: [{ days: WEEK.slice(0, 5), from: '18:30', to: '22:00' }] },
  ];
}

export const DOOR_RULES = [
  { group: 'staff' },
  { group: 'members', schedule: 'open-hours' },
  { group: 'evening', schedule: 'evenings' },
];
