// docs/wiring.md is the one wiring table: this fails when the table contradicts the Pi's header or the
// datasheets' power-up pulls, or when the provisioning examples, the simulated site, the README, the
// hardware-in-the-loop tests or the controller rig name another pin than it does.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { NODES, PINS } from '../../agent/sim/plan.ts';
import { DOOR_PINS } from '../controllers/rig.ts';

const read = (rel: string): string => readFileSync(new URL(`../../${rel}`, import.meta.url), 'utf8');

/** The 40-pin header: BCM number of each header pin (pinout of every Pi since the Model B+). */
const HEADER: Record<number, number> = {
  3: 2, 5: 3, 7: 4, 8: 14, 10: 15, 11: 17, 12: 18, 13: 27, 15: 22, 16: 23, 18: 24, 19: 10, 21: 9, 22: 25,
  23: 11, 24: 8, 26: 7, 27: 0, 28: 1, 29: 5, 31: 6, 32: 12, 33: 13, 35: 19, 36: 16, 37: 26, 38: 20, 40: 21,
};
const GND = new Set([6, 9, 14, 20, 25, 30, 34, 39]);
const V33 = new Set([1, 17]);
/** Reset-default pulls (BCM2835 ARM Peripherals 6.2, BCM2711 ARM Peripherals 5.3): 0-8 up, 9-27 down. */
const pullOf = (bcm: number): 'up' | 'down' => (bcm <= 8 ? 'up' : 'down');

interface Row { fn: string; bcm: string; header: string; level: string; pull: string; key: string }

/** The rows of the first table under `## heading`. */
function tableRows(md: string, heading: string): string[][] {
  const at = md.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `missing heading ${heading}`);
  const lines = md.slice(at + heading.length + 2).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[][] = [];
  for (const l of lines.slice(first)) {
    if (!l.startsWith('|')) break;
    rows.push(l.slice(1, -1).split('|').map((c) => c.trim()));
  }
  return rows.slice(2); // header and separator
}

function wiringRows(md: string, heading: string): Row[] {
  return tableRows(md, heading).map(([fn = '', bcm = '', header = '', level = '', pull = '', key = '']) => ({ fn, bcm, header, level, pull, key }));
}

/** `doors[].pins.strike` -> BCM, `readers[].reset_line` -> BCM, `readers[].path` -> device. */
function keyed(rows: Row[]): { lines: Map<string, number>; activeLow: Set<string>; path: string | undefined } {
  const lines = new Map<string, number>();
  const activeLow = new Set<string>();
  let path: string | undefined;
  for (const r of rows) {
    const key = /^`([^`]+)`/.exec(r.key)?.[1];
    if (key === undefined) continue;
    const dev = /= `([^`]+)`/.exec(r.key)?.[1];
    if (key === 'readers[].path') { path = dev; continue; }
    if (!/^\d+$/.test(r.bcm)) continue;
    lines.set(key, Number(r.bcm));
    if (r.level.includes('`active_low: true`')) activeLow.add(key);
  }
  return { lines, activeLow, path };
}

/** What the table says of itself: header pins, pulls, config.txt. Returns each disagreement. */
function checkTable(md: string): string[] {
  const bad: string[] = [];
  const outputsHigh = new Set<number>();
  const inputs = new Set<number>();
  for (const heading of ['## Door node', '## Machine node']) {
    for (const r of wiringRows(md, heading)) {
      const headers = r.header.split(',').map((h) => h.trim()).filter((h) => h !== '').map(Number);
      if (/^\d+$/.test(r.bcm)) {
        const bcm = Number(r.bcm);
        if (headers.length !== 1 || HEADER[headers[0]!] !== bcm) bad.push(`${heading} ${r.fn}: BCM ${bcm} is not on header pin ${r.header}`);
        if (r.level.startsWith('output') || r.level.startsWith('input')) {
          if (!r.pull.startsWith(pullOf(bcm))) bad.push(`${heading} ${r.fn}: BCM ${bcm} powers up pulled ${pullOf(bcm)}, the table says "${r.pull}"`);
          // Harmless at power-up: an active-high output on a pulled-down pin, a switch to GND on a pulled-up one.
          if (r.level.startsWith('output, high =') && pullOf(bcm) !== 'down') bad.push(`${heading} ${r.fn}: an active-high output on pulled-up BCM ${bcm} is on during boot`);
          if (r.level.startsWith('input') && pullOf(bcm) !== 'up') bad.push(`${heading} ${r.fn}: a switch to GND on pulled-down BCM ${bcm} needs its own pull-up`);
          if (r.level.startsWith('output, high =')) outputsHigh.add(bcm);
          if (r.level.startsWith('input')) inputs.add(bcm);
        }
      } else if (r.bcm === 'GND' && !headers.every((h) => GND.has(h))) {
        bad.push(`${heading} ${r.fn}: header pins ${r.header} are not all GND`);
      } else if (r.bcm === '3V3' && !headers.every((h) => V33.has(h))) {
        bad.push(`${heading} ${r.fn}: header pin ${r.header} is not 3V3`);
      }
    }
  }
  const gpioLine = (suffix: string): Set<number> => new Set((new RegExp(`^gpio=([\\d,]+)=${suffix}$`, 'm').exec(md)?.[1] ?? '').split(',').filter((x) => x !== '').map(Number));
  const same = (a: Set<number>, b: Set<number>): boolean => a.size === b.size && [...a].every((x) => b.has(x));
  if (!same(gpioLine('op,dl'), outputsHigh)) bad.push(`config.txt gpio=...=op,dl must list the active-high outputs ${[...outputsHigh].join(',')}`);
  if (!same(gpioLine('ip,pu'), inputs)) bad.push(`config.txt gpio=...=ip,pu must list the inputs ${[...inputs].join(',')}`);
  return bad;
}

type Pins = Record<string, { line: number; active_low?: boolean } | undefined>;
interface NodeJson { readers?: Array<{ path?: string; reset_line?: number | null }>; doors?: Array<{ pins: Pins }>; machines?: Array<{ pins: Pins; mode?: string }> }

/** A node config (an example, a simulated node) against the table: every pin the table names, at its line. */
function checkNode(name: string, cfg: NodeJson, kind: 'doors' | 'machines', rows: Row[], opts: { reader: boolean }): string[] {
  const bad: string[] = [];
  const { lines, activeLow, path } = keyed(rows);
  const pins = cfg[kind]?.[0]?.pins ?? {};
  for (const [key, bcm] of lines) {
    const m = new RegExp(`^${kind}\\[\\]\\.pins\\.(\\w+)$`).exec(key);
    if (m) {
      const p = pins[m[1]!];
      if (p?.line !== bcm) bad.push(`${name}: ${kind}[0].pins.${m[1]}.line is ${p?.line ?? 'missing'}, docs/wiring.md says ${bcm}`);
      else if ((p.active_low === true) !== activeLow.has(key)) bad.push(`${name}: ${kind}[0].pins.${m[1]}.active_low is ${p.active_low ?? false}, docs/wiring.md says ${activeLow.has(key)}`);
    } else if (key === 'readers[].reset_line' && opts.reader) {
      const r = cfg.readers?.[0]?.reset_line;
      if (r !== undefined && r !== null && r !== bcm) bad.push(`${name}: readers[0].reset_line is ${r}, docs/wiring.md says ${bcm}`);
    }
  }
  for (const n of Object.keys(pins)) if (!lines.has(`${kind}[].pins.${n}`)) bad.push(`${name}: ${kind}[0].pins.${n} is not in docs/wiring.md`);
  if (opts.reader && path !== undefined && cfg.readers?.[0]?.path !== path) bad.push(`${name}: readers[0].path is ${cfg.readers?.[0]?.path}, docs/wiring.md says ${path}`);
  return bad;
}

/** README's summary: "17 (11)" cells per column, against the table. */
function checkReadme(readme: string, door: Row[], machine: Row[]): string[] {
  const bad: string[] = [];
  const rows = tableRows(readme, '## Wiring');
  const cell = (rowsOf: Row[], key: string): string => {
    const r = rowsOf.find((x) => x.key.startsWith(`\`${key}\``));
    return r ? `${r.bcm} (${r.header})` : '';
  };
  const expect: Array<[string, Row[], string[]]> = [
    ['door', door, ['doors[].pins.strike', 'doors[].pins.door_switch', 'doors[].pins.rex', 'doors[].pins.led', 'doors[].pins.buzzer']],
    ['machine', machine, ['machines[].pins.relay', '', 'machines[].pins.button', 'machines[].pins.led', 'machines[].pins.buzzer']],
  ];
  for (const [node, rowsOf, keys] of expect) {
    const row = rows.find((r) => r[0]!.startsWith(node));
    if (!row) { bad.push(`README.md Wiring: no ${node} row`); continue; }
    keys.forEach((key, i) => {
      const want = key === '' ? '' : cell(rowsOf, key);
      const got = /^(\d+ \(\d+\))?/.exec(row[i + 1]!)?.[1] ?? '';
      if (got !== want) bad.push(`README.md Wiring ${node}: column ${i + 2} says "${row[i + 1]}", docs/wiring.md says ${want || 'nothing'}`);
    });
    const { path } = keyed(rowsOf);
    if (path !== undefined && !row[6]!.includes(`\`${path}\``)) bad.push(`README.md Wiring ${node}: the reader is not on ${path}`);
  }
  return bad;
}

function checkHil(hilReadme: string, hilGpioTest: string, door: Row[]): string[] {
  const bad: string[] = [];
  const { lines } = keyed(door);
  const all = new Set(lines.values());
  const vals = (text: string, re: RegExp): number[] => [...text.matchAll(re)].map((m) => Number(m[1]));
  for (const v of vals(hilReadme, /GDO_HIL_GPIO_OUT=(\d+)/g)) if (v !== lines.get('doors[].pins.led')) bad.push(`hil-tests/README.md: GDO_HIL_GPIO_OUT=${v} is not the LED (${lines.get('doors[].pins.led')})`);
  for (const v of vals(hilReadme, /GDO_HIL_PN532_RSTPDN=(\d+)/g)) if (v !== lines.get('readers[].reset_line')) bad.push(`hil-tests/README.md: GDO_HIL_PN532_RSTPDN=${v} is not the reset line`);
  for (const v of vals(hilReadme, /GDO_HIL_GPIO_IN=(\d+)/g)) if (all.has(v)) bad.push(`hil-tests/README.md: GDO_HIL_GPIO_IN=${v} is a wired line, not a free one`);
  for (const v of vals(hilGpioTest, /the LED, (\d+)/g)) if (v !== lines.get('doors[].pins.led')) bad.push(`hil-tests/gpio.hil.test.ts: the LED is not ${v}`);
  if (/\|\s*BCM\s*\|/.test(hilReadme)) bad.push('hil-tests/README.md has a pin table of its own: link docs/wiring.md instead');
  return bad;
}

describe('docs/wiring.md, the one wiring table', () => {
  const md = read('docs/wiring.md');
  const door = wiringRows(md, '## Door node');
  const machine = wiringRows(md, '## Machine node');

  it('matches the 40-pin header, the power-up pulls, and its own config.txt lines', () => {
    assert.ok(door.length >= 8 && machine.length >= 4, 'both tables parsed');
    assert.deepEqual(checkTable(md), []);
  });

  it('is what the provisioning examples wire', () => {
    const front = JSON.parse(read('provisioning/examples/front-door.json')) as NodeJson;
    const laser = JSON.parse(read('provisioning/examples/laser.json')) as NodeJson;
    assert.equal(laser.machines?.[0]?.mode, 'session');
    assert.deepEqual([
      ...checkNode('front-door.json', front, 'doors', door, { reader: true }),
      ...checkNode('laser.json', laser, 'machines', machine, { reader: true }),
    ], []);
  });

  it('is what the simulated site and the controller rig wire', () => {
    const hw = (name: string): NodeJson => NODES.find((n) => n.name === name)!.hardware as NodeJson;
    // The simulated laser has no maintainer button: only the pins it has are compared.
    const laserRows = machine.filter((r) => !r.key.startsWith('`machines[].pins.button`'));
    assert.deepEqual([
      ...checkNode('agent/sim front-door', hw('front-door'), 'doors', door, { reader: false }),
      ...checkNode('agent/sim laser', hw('laser'), 'machines', laserRows, { reader: false }),
      ...checkNode('agent/sim PINS.door', { doors: [{ pins: Object.fromEntries(Object.entries(PINS.door).map(([k, v]) => [k, { line: v, ...(k === 'rex' && { active_low: true }) }])) }] }, 'doors', door, { reader: false }),
      ...checkNode('test/controllers/rig.ts', { doors: [{ pins: DOOR_PINS }] }, 'doors', door, { reader: false }),
    ], []);
  });

  it('is what README.md and the hardware-in-the-loop tests say', () => {
    assert.deepEqual(checkReadme(read('README.md'), door, machine), []);
    assert.deepEqual(checkHil(read('hil-tests/README.md'), read('hil-tests/gpio.hil.test.ts'), door), []);
  });

  it('catches a disagreement: a reed switch moved to BCM 24 anywhere is reported', () => {
    const moved = md.replace('| door-position (reed) switch | 5 | 29 |', '| door-position (reed) switch | 24 | 18 |');
    assert.notEqual(moved, md);
    const movedDoor = wiringRows(moved, '## Door node');
    // The table itself: 24 powers up pulled down, and config.txt still pulls 5 up.
    assert.ok(checkTable(moved).some((m) => /BCM 24 powers up pulled down/.test(m)));
    assert.ok(checkTable(moved).some((m) => /ip,pu must list the inputs/.test(m)));
    // Every consumer still on 5 now disagrees.
    const front = JSON.parse(read('provisioning/examples/front-door.json')) as NodeJson;
    assert.match(checkNode('front-door.json', front, 'doors', movedDoor, { reader: true }).join('\n'), /door_switch\.line is 5, docs\/wiring\.md says 24/);
    assert.match(checkReadme(read('README.md'), movedDoor, machine).join('\n'), /column 3 says "5 \(29\)"/);
    const wrongHeader = md.replace('| status LED | 22 | 15 |', '| status LED | 22 | 16 |');
    assert.ok(checkTable(wrongHeader).some((m) => /BCM 22 is not on header pin 16/.test(m)));
    assert.match(checkHil('GDO_HIL_GPIO_OUT=17 npm run test:hil', '', door).join('\n'), /GDO_HIL_GPIO_OUT=17 is not the LED/);
  });
});
