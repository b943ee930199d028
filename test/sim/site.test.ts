// The simulated site (`npm start`, `gdo sim`) as a real process: a scripted badge run through three real
// agents (allowed and denied with their reasons and rules, a certification at the laser, a cut, a
// revocation the cut-off door cannot know, the heal and the anomaly it leaves), then shutdown with
// nothing left behind: no process, no directory, no port. Then the same for Ctrl-C, and an agent that
// outlives a killed site stopping by itself.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { agentPids, alive, blocks, portFree, portsIn, processesMentioning, spawnSim, type SimProcess } from './helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'gdo-sim-test-'));
const started: SimProcess[] = [];
after(() => {
  // A failed test must not leave its site or agents behind either.
  for (const s of started) {
    if (s.proc.exitCode === null && s.proc.signalCode === null) s.proc.kill('SIGKILL');
    for (const pid of agentPids(s.out()).filter(alive)) process.kill(pid, 'SIGKILL');
  }
  rmSync(scratch, { recursive: true, force: true });
});

const SCRIPT = `# a scripted visit
badge alice door
badge bob door
badge frank door
badge erin door
badge stranger door
badge alice laser
certify carol alice
badge alice laser
remove laser
open
close
cut door
revoke alice
badge alice laser
badge alice door
heal door
anomalies
quit
`;

/** What must hold once the site is gone: no agent, no directory, every port it used free again. */
async function nothingLeft(sim: SimProcess, dir: string): Promise<void> {
  assert.equal(existsSync(dir), false, `${dir} removed`);
  assert.deepEqual(processesMentioning(dir), [], 'no process of the site is left');
  for (const pid of agentPids(sim.out())) assert.equal(alive(pid), false, `agent ${pid} is gone`);
  const ports = portsIn(sim.out());
  assert.equal(ports.length, 4, `three status endpoints and the broker: ${ports.join(', ')}`);
  for (const p of ports) assert.equal(await portFree(p), true, `port ${p} is free again`);
}

function block(all: { cmd: string; text: string }[], i: number, cmd: string): string {
  assert.equal(all[i]?.cmd, cmd, `command ${i} is '${cmd}'`);
  return all[i]!.text;
}

describe('gdo sim', () => {
  it('npm start --script: a badge run through the real agents, the merge after a cut, then a clean stop', { timeout: 180_000 }, async () => {
    const script = join(scratch, 'visit.txt');
    writeFileSync(script, SCRIPT);
    const sim = spawnSim(['--script', script], { via: 'npm-start' });
    started.push(sim);
    const { code } = await sim.exited;
    const out = sim.out();
    assert.equal(code, 0, `${out}\n${sim.err()}`);
    assert.match(out, /gdo node approve hub: key [0-9a-f]{8} enrolled as hub, site secret sealed to the node/);
    assert.match(out, /gdo node approve front-door: key [0-9a-f]{8} enrolled as door/);
    assert.match(out, /gdo node approve laser: key [0-9a-f]{8} enrolled as machine/);
    assert.match(out, /ready in [\d.]+ s: every node enrolled, every replica at state [0-9a-f]{8}/);

    const b = blocks(out);
    assert.match(block(b, 0, 'badge alice door'), /ALLOW {2}Alice at the front door: allowed {2}\[door front rule 1: group members, schedule open-hours window 0\]/);
    assert.match(b[0]!.text, /front-door {2}strike energised: door unlocked/);
    assert.match(block(b, 1, 'badge bob door'), /ALLOW {2}Bob at the front door: allowed {2}\[door front rule 0: group staff, any time\]/);
    assert.match(block(b, 2, 'badge frank door'), /DENY {3}Frank at the front door: outside schedule {2}\[schedule evenings: no window at this time \([A-Za-z_/]+\)\]/);
    assert.match(block(b, 3, 'badge erin door'), /DENY {3}Erin at the front door: member suspended/);
    assert.match(block(b, 4, 'badge stranger door'), /DENY {3}a stranger at the front door: unknown badge/);
    assert.match(block(b, 5, 'badge alice laser'), /DENY {3}Alice at the laser cutter: not certified/);
    const certify = block(b, 6, 'certify carol alice');
    assert.match(certify, /ALLOW {2}Carol at the laser cutter: allowed {2}\[machine laser: trainer\]/);
    assert.match(certify, /CERTIFIED {2}Alice on the laser cutter by trainer Carol/);
    const run = block(b, 7, 'badge alice laser');
    assert.match(run, /ALLOW {2}Alice at the laser cutter: allowed {2}\[machine laser: certificate [0-9a-f]{12}\]/);
    assert.match(run, /laser {7}relay on: laser enabled/);
    assert.match(block(b, 8, 'remove laser'), /relay off: laser disabled[\s\S]*session of Alice ended after [\d.]+ s: card taken off the reader/);
    assert.match(block(b, 9, 'open'), /ALARM {2}door forced open/);
    assert.match(block(b, 10, 'close'), /alarm cleared: door closed \(forced_open\)/);
    assert.match(block(b, 11, 'cut door'), /cut front-door off the network/);
    const revoke = block(b, 12, 'revoke alice');
    assert.match(revoke, /revoked Alice's badge/);
    assert.match(revoke, /reached hub, laser in [\d.]+ s/);
    assert.match(revoke, /front-door is cut off/);
    assert.match(block(b, 13, 'badge alice laser'), /DENY {3}Alice at the laser cutter: badge revoked/, 'the laser heard of the revocation');
    assert.match(block(b, 14, 'badge alice door'), /ALLOW {2}Alice at the front door: allowed .*\(offline: front-door is cut off from the hub\)/, 'the door could not');
    const heal = block(b, 15, 'heal door');
    assert.match(heal, /merged in [\d.]+ s: 4 replicas agree, state [0-9a-f]{8}/);
    assert.match(heal, /ANOMALY {2}front-door let Alice in at the front door at [\d:]+ while cut off, after a revocation it could not know \(badge revoked at [\d:]+\)/);
    const anomalies = block(b, 16, 'anomalies');
    assert.match(anomalies, /^1 grant\(s\) made offline after a revocation the node could not know \(times in [\w/+-]+\):\n {2}\d{4}-\d\d-\d\d \d\d:\d\d(?::\d\d)? \S+ {2}front-door granted alice at door:front; badge revoked at /m);

    const stop = block(b, 17, 'quit');
    assert.match(stop, /hub {9}agent stopped \(exit 0\)/);
    assert.match(stop, /front-door {2}agent stopped \(exit 0\), outputs safe/);
    assert.match(stop, /laser {7}agent stopped \(exit 0\), outputs safe/);
    // People are named; no card UID (7 bytes, in any usual spelling) is ever shown.
    assert.doesNotMatch(out, /[0-9a-f]{14}/i);
    assert.doesNotMatch(out, /(?:[0-9a-f]{2}[:\- ]){6}[0-9a-f]{2}/i);
    await nothingLeft(sim, sim.dir());
  });

  it('gdo sim with commands on stdin: a mistake is one line, Ctrl-C stops every agent and removes --dir', { timeout: 120_000 }, async () => {
    const dir = join(scratch, 'site');
    const sim = spawnSim(['--dir', dir], { via: 'gdo', stdin: 'pipe' });
    started.push(sim);
    await sim.waitFor(/ready in [\d.]+ s/);
    sim.proc.stdin!.write('badge zed door\nbadge bob door\n');
    await sim.waitFor(/ALLOW {2}Bob at the front door/, 20_000);
    assert.match(sim.out(), /^! who is 'zed'\? \(people: alice bob carol dan erin frank stranger\)$/m);
    sim.proc.kill('SIGINT');
    const { code } = await sim.exited;
    assert.equal(code, 0, sim.out() + sim.err());
    assert.match(sim.out(), /SIGINT: stopping the site/);
    assert.equal((sim.out().match(/agent stopped \(exit 0\)/g) ?? []).length, 3);
    assert.equal(sim.dir(), dir);
    await nothingLeft(sim, dir);
  });

  it('a killed site (SIGKILL) leaves no agent running: each stops by itself with its outputs safe', { timeout: 120_000 }, async () => {
    const dir = join(scratch, 'killed');
    const sim = spawnSim(['--dir', dir], { via: 'gdo', stdin: 'pipe' });
    started.push(sim);
    await sim.waitFor(/ready in [\d.]+ s/);
    sim.proc.stdin!.write('badge alice door\n');
    await sim.waitFor(/strike energised: door unlocked/, 20_000);
    const pids = agentPids(sim.out());
    assert.equal(pids.length, 3);
    sim.proc.kill('SIGKILL');
    await sim.exited;
    const end = Date.now() + 20_000;
    while (pids.some(alive) && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(pids.filter(alive), [], 'every agent has stopped');
    for (const node of ['front-door', 'laser']) {
      const gpio = JSON.parse(readFileSync(join(dir, node, 'var/lib/gdo/gpio.json'), 'utf8')) as { lines: Record<string, { mode: string; level: number }> };
      const outputs = Object.values(gpio.lines).filter((l) => l.mode === 'output');
      assert.ok(outputs.length >= 3 && outputs.every((l) => l.level === 0), `${node}: every output de-energised: ${JSON.stringify(gpio.lines)}`);
    }
    assert.deepEqual(processesMentioning(dir), []);
  });
});
