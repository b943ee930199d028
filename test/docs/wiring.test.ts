// docs/wiring.md is the one wiring table: this fails when the table contradicts the Pi's header or the
// datasheets' power-up pulls, or when the provisioning examples, the simulated site, the README, the
// hardware-in-the-loop tests or the controller rig name another pin than it does.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { NODES, PINS } from '../../agent/sim/plan.ts';
import { DOOR_PINS } from '../controllers/rig.ts';
import { checkNode, checkTable, keyed, read, tableRows, wiringRows, type NodeJson, type Row } from './wiring-table.ts';

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
