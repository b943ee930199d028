// Agent log lines and output changes in words a newcomer reads: decisions with their reason and rule,
// alarms, certifications, machine sessions, strike and relay, and the LED and buzzer patterns summed up.
// Members are named from the ledger's member ids; a card without a member is named by who the site
// handed it to (`badge stranger door`); a UID is never shown (the agents' logs never carry one).
import { CERTIFY_REASONS, REASONS } from '../access/reasons.ts';
import type { LogLine } from './agent-proc.ts';
import type { Display } from './display.ts';
import type { LineChange } from './gpio-watch.ts';
import { DOOR, LASER, PEOPLE } from './plan.ts';

export interface DecisionLine { resource: string; allow: boolean; reason: string; rule?: string; member_id?: string }

export function nameOf(memberId: string | undefined): string | undefined {
  return memberId === undefined ? undefined : PEOPLE.find((p) => p.id === memberId)?.name ?? memberId;
}

export function placeOf(resource: string): string {
  if (resource === DOOR.resource) return 'the front door';
  if (resource === LASER.resource) return 'the laser cutter';
  return resource;
}

export function reasonText(reason: string): string {
  return (REASONS as Record<string, string>)[reason] ?? reason.replace(/_/g, ' ');
}

const END_REASONS: Record<string, string> = {
  card_removed: 'card taken off the reader', timeout: 'session time up', badge_out: 'badged out',
  out_of_service: 'taken out of service', reader_fault: 'reader fault', ledger_fault: 'ledger fault',
};

export interface NarrateContext {
  /** Who the site last put a card in front of this node's reader (for cards without a member). */
  holder(node: string): string | undefined;
  /** A note for grants made while the node is cut off. */
  offline(node: string): boolean;
}

/** Shows one agent log line if it is news; returns true when it was shown. */
export function narrate(d: Display, node: string, l: LogLine, ctx: NarrateContext): boolean {
  const decision = l['decision'] as DecisionLine | undefined;
  if (decision && typeof decision === 'object') {
    const who = nameOf(decision.member_id) ?? ctx.holder(node) ?? 'an unknown card';
    const verdict = decision.allow ? d.paint('allow', 'ALLOW') : d.paint('deny', 'DENY ');
    const rule = decision.rule ? d.paint('dim', `  [${decision.rule}]`) : '';
    const offline = decision.allow && ctx.offline(node) ? d.paint('note', `  (offline: ${node} is cut off from the hub)`) : '';
    d.event(node, `${verdict}  ${who} at ${placeOf(decision.resource)}: ${reasonText(decision.reason)}${rule}${offline}`);
    return true;
  }
  const ev = typeof l['event'] === 'string' ? l['event'] : undefined;
  switch (ev) {
    case 'door.forced_open': d.event(node, 'ALARM  door forced open (opened while locked)', 'alarm'); return true;
    case 'door.held_open': d.event(node, `ALARM  door held open (open over ${Math.round(Number(l['held_open_ms']) / 1000)} s)`, 'alarm'); return true;
    case 'door.alarm_cleared': d.event(node, `alarm cleared: door closed (${(l['alarms'] as string[] | undefined)?.join(', ') ?? ''})`, 'note'); return true;
    case 'door.rex': d.event(node, 'exit button pressed: unlocking for egress', 'note'); return true;
    case 'door.mode': d.event(node, `door mode ${String(l['previous'])} -> ${String(l['mode'])}`, 'note'); return true;
    case 'door.fault': case 'machine.fault': d.event(node, `FAULT  ${String(l['fault'])}${l['detail'] ? `: ${String(l['detail'])}` : ''} (outputs safe)`, 'alarm'); return true;
    case 'door.fault_cleared': case 'machine.fault_cleared': d.event(node, `fault cleared: ${String(l['fault'])}`, 'note'); return true;
    case 'machine.certification':
      d.event(node, `CERTIFIED  ${nameOf(l['member_id'] as string) ?? '?'} on the laser cutter by trainer ${nameOf(l['trainer_id'] as string) ?? '?'} (the node signs machine/certify)`, 'allow');
      return true;
    case 'machine.certification_refused':
      d.event(node, `NOT CERTIFIED  ${nameOf(l['member_id'] as string) ?? '?'} on the laser cutter for trainer ${nameOf(l['trainer_id'] as string) ?? '?'}: ${(CERTIFY_REASONS as Record<string, string>)[String(l['reason'])] ?? reasonText(String(l['reason']))}${l['detail'] ? d.paint('dim', `  [${String(l['detail'])}]`) : ''} (nothing signed)`, 'deny');
      return true;
    case 'machine.session': {
      const why = END_REASONS[String(l['end_reason'])] ?? String(l['end_reason']);
      d.event(node, `session of ${nameOf(l['member_id'] as string | undefined) ?? 'someone'} ended after ${(Number(l['duration_ms']) / 1000).toFixed(1)} s: ${why}`, 'dim');
      return true;
    }
    case 'machine.out_of_service': d.event(node, 'machine taken out of service', 'alarm'); return true;
    case 'machine.in_service': d.event(node, 'machine back in service', 'note'); return true;
    default: break;
  }
  if (l.msg === 'ready for badges') { d.event(node, `ready (${String(l['ready_ms'])} ms after its process started)`, 'dim'); return true; }
  if (l['part'] === 'enrolment' && /^enrolment request published/.test(l.msg)) { d.event(node, 'asks to enrol: its signed request is on the broker', 'dim'); return true; }
  if (l.level === 'error' || l.level === 'fatal') { d.event(node, `${l.level}: ${l.msg}`, 'deny'); return true; }
  return false;
}

const OUTPUTS: Record<string, [on: string, off: string]> = {
  strike: ['strike energised: door unlocked', 'strike released: door locked'],
  relay: ['relay on: laser enabled', 'relay off: laser disabled'],
};

/**
 * Strike and relay changes at once; LED and buzzer patterns (a grant's flash, a denial's blinks) summed
 * up once the pattern has played, so a denial is one line, not ten.
 */
export class OutputNarrator {
  readonly #d: Display;
  readonly #node: string;
  #burst: { led: number; buzzer: number; ledOn: boolean; timer: NodeJS.Timeout | undefined } | undefined;

  constructor(d: Display, node: string) {
    this.#d = d;
    this.#node = node;
  }

  /** Resolves once no pattern is playing (at most `maxMs`), so a script's lines come out in order. */
  async idle(maxMs: number): Promise<void> {
    const end = Date.now() + maxMs;
    await new Promise((r) => setTimeout(r, 150)); // the pattern's first change may still be on its way
    while (this.#burst && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  }

  change(c: LineChange): void {
    const kind = c.label.slice(c.label.lastIndexOf('.') + 1);
    const words = OUTPUTS[kind];
    if (words) {
      this.#d.event(this.#node, c.level === 1 ? words[0] : words[1], 'out');
      return;
    }
    if (kind !== 'led' && kind !== 'buzzer') return;
    const b = this.#burst ?? { led: 0, buzzer: 0, ledOn: false, timer: undefined };
    clearTimeout(b.timer);
    if (c.level === 1) b[kind] += 1;
    if (kind === 'led') b.ledOn = c.level === 1;
    b.timer = setTimeout(() => this.flush(), 300);
    this.#burst = b;
  }

  flush(): void {
    const b = this.#burst;
    this.#burst = undefined;
    if (!b) return;
    clearTimeout(b.timer);
    const parts: string[] = [];
    if (b.led > 0) parts.push(b.led === 1 && b.ledOn ? 'LED on' : `LED ${b.led} flash${b.led === 1 ? '' : 'es'}`);
    if (b.buzzer > 0) parts.push(`buzzer ${b.buzzer} beep${b.buzzer === 1 ? '' : 's'}`);
    if (parts.length > 0) this.#d.event(this.#node, parts.join(', '), 'dim');
  }
}
