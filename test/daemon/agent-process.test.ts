// `gdo agent` as a real process: configuration errors, start, a badge through the real serial driver to a
// logged decision, the status and metrics endpoints, and outputs safe on SIGTERM, on an uncaught exception,
// and (through `gdo gpio safe`) after SIGKILL. Fake GPIO with a state file, the PN532 simulator behind a
// socat pty.
import assert from 'node:assert/strict';
import { existsSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { allDapps } from '../../agent/dapps.ts';
import { decodeEvent } from '../../agent/ledger/event.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { enrolledDoorNode } from './fixtures/site.ts';
import {
  doorConfig, gdo, readGpio, simReader, spawnAgent, tempDir, UID, uidForms, waitFor, writeJson, type AgentProcess, type SimReader,
} from './helpers.ts';

// What this node decides for the test badge: it has no keys and no enrolment, so agent/access denies with
// 'node_not_enrolled' (an inert node, issue 7). The same path with an enrolled node and a registered badge
// is 'an enrolled door node' below ({ allow: true, reason: 'allowed' }).
const EXPECTED = { allow: false, reason: 'node_not_enrolled' };
const CRASH_PRELOAD = new URL('./fixtures/crash-on-sigusr2.mjs', import.meta.url).pathname;

async function post(agent: AgentProcess, path: string, body: unknown): Promise<number> {
  const res = await fetch(`${await agent.url()}${path}`, { method: 'POST', body: JSON.stringify(body) });
  await res.text();
  return res.status;
}

/** Presses the exit button (REX, active low on line 6) and waits for the strike (17) to energise. */
async function rexUnlock(agent: AgentProcess, gpioFile: string): Promise<void> {
  assert.equal(await post(agent, '/sim/gpio/6', { level: 0 }), 200);
  await waitFor(() => readGpio(gpioFile).lines['17']?.level === 1, 'the strike to energise after REX');
}

describe('gdo agent: configuration errors', () => {
  const t = tempDir();
  after(() => t.dispose());
  const cases: [string, string, RegExp][] = [
    ['a value out of range', JSON.stringify({ readers: [{ path: '/dev/null' }], doors: [{ id: 'front', unlock_ms: 60000, pins: { strike: { line: 17 } } }] }),
      /^gdo: config .*: doors\[0\]\.unlock_ms must be an integer 500\.\.10000, got 60000\n$/],
    ['an unknown key', JSON.stringify({ http: { listen: '127.0.0.1:0', port: 1 } }), /^gdo: config .*: http\.port is not a known key \(expected one of: listen\)\n$/],
    ['a file that is not JSON', '{ "doors": [ ', /^gdo: config .*: .* is not valid JSON: /],
  ];
  for (const [what, text, message] of cases) {
    it(`exits 78 with one line naming the key: ${what}`, () => {
      const file = join(t.dir, `${what.replace(/\W+/g, '-')}.json`);
      writeFileSync(file, text);
      const r = gdo(['agent', '--config', file]);
      assert.equal(r.code, 78, r.stderr);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      assert.equal(r.stdout, '', 'nothing started, nothing logged');
    });
  }

  it('gdo config check agrees: 0 for a valid file, 78 for the same errors', () => {
    const good = writeJson(join(t.dir, 'good.json'), { state_dir: t.dir, readers: [{ path: '/dev/null' }], doors: [{ id: 'front', pins: { strike: { line: 17 } } }] });
    const ok = gdo(['config', 'check', good, '--json']);
    assert.equal(ok.code, 0, ok.stderr);
    const body = JSON.parse(ok.stdout) as { ok: boolean; config: { doors: { rex_unlock_ms: number }[] } };
    assert.equal(body.ok, true);
    assert.equal(body.config.doors[0]!.rex_unlock_ms, 5000, 'the effective config, defaults filled in');
    const bad = writeJson(join(t.dir, 'bad.json'), { gpio: { backend: 'gpiod' } });
    const r = gdo(['config', 'check', bad]);
    assert.equal(r.code, 78);
    assert.match(r.stderr, /gpio\.backend must be one of 'onoff', 'fake', got "gpiod"/);
  });
});

describe('gdo agent: a door node', () => {
  let reader: SimReader;
  const t = tempDir();
  before(async () => { reader = await simReader(); });
  after(async () => { await reader.dispose(); t.dispose(); });

  it('starts, decides on a badge, reports it without the badge id, and stops with outputs safe on SIGTERM', async () => {
    const dir = join(t.dir, 'sigterm');
    const config = writeJson(`${dir}.json`, doorConfig(dir, reader.path));
    const gpioFile = join(dir, 'gpio.json');
    const agent = spawnAgent(config);
    try {
      const ready = await agent.waitForLog((l) => l.msg === 'ready for badges', 'ready');
      assert.equal(typeof ready['ready_ms'], 'number');
      const health = await agent.get('/health');
      assert.equal(health.status, 200, health.text);
      assert.deepEqual(health.json(), { status: 'ok', problems: [] });

      reader.sim.present({ uid: UID });
      const logged = await agent.waitForLog((l) => l['event'] === 'door.access', 'the decision in the log');
      reader.sim.remove();
      const d = logged['decision'] as Record<string, unknown>;
      assert.equal(d['allow'], EXPECTED.allow);
      assert.equal(d['reason'], EXPECTED.reason);
      assert.equal(d['resource'], 'door:front');

      const status = await agent.get('/status');
      const s = status.json() as {
        ready: boolean; decisions: { allow: boolean; reason: string; resource: string }[]; readers: { state: string }[];
        doors: { id: string; unlocked: boolean; faults: string[] }[]; enrolment: { enrolled: boolean }; parts: { name: string; state: string }[];
        gpio: { lines: Record<string, { level: number }> }; ledger: { events: number };
      };
      assert.equal(s.ready, true);
      assert.deepEqual(s.decisions.map((x) => [x.resource, x.allow, x.reason]), [['door:front', EXPECTED.allow, EXPECTED.reason]]);
      assert.equal(s.readers[0]!.state, 'ready');
      assert.deepEqual(s.doors.map((x) => [x.id, x.unlocked, x.faults]), [['front', false, []]]);
      assert.equal(s.enrolment.enrolled, false);
      assert.deepEqual(s.parts.map((p) => p.name), ['gpio', 'ledger', 'access', 'reader:main', 'controllers', 'http']);
      assert.ok(s.parts.every((p) => p.state === 'ok'), JSON.stringify(s.parts));
      assert.equal(s.gpio.lines['17']!.level, 0);

      const metrics = await agent.get('/metrics');
      assert.equal(metrics.status, 200);
      assert.match(metrics.text, new RegExp(`^gdo_decisions_total\\{kind="door",result="${EXPECTED.allow ? 'allow' : 'deny'}",reason="${EXPECTED.reason}"\\} 1$`, 'm'));
      assert.match(metrics.text, /^gdo_reader_up\{reader="main"\} 1$/m);
      assert.match(metrics.text, /^gdo_part_restarts_total\{part="ledger"\} 0$/m);
      assert.match(metrics.text, /^gdo_ledger_events \d+$/m);
      assert.match(metrics.text, /^gdo_event_loop_lag_seconds\{quantile="0.99"\} [0-9.e-]+$/m);
      assert.match(metrics.text, /^# TYPE gdo_decisions_total counter$/m);

      await rexUnlock(agent, gpioFile);
      const exit = await agent.stop('SIGTERM');
      assert.deepEqual(exit, { code: 0, signal: null });
      const lines = readGpio(gpioFile).lines;
      assert.deepEqual(['17', '22', '23'].map((l) => lines[l]!.level), [0, 0, 0], 'strike, LED and buzzer de-energised');
      assert.ok(agent.logs.some((l) => l.msg === 'stopped: outputs safe, ledger closed'));
      assert.equal(existsSync(join(dir, 'ledger.db-wal')), false, 'the database was closed (WAL checkpointed and removed)');
      const everything = agent.stdout() + status.text + metrics.text;
      for (const form of uidForms(UID)) assert.equal(everything.includes(form), false, `badge id leaked as ${form}`);
    } finally {
      await agent.stop('SIGKILL');
    }
  });

  it('drives outputs safe and exits non-zero on an uncaught exception', async () => {
    const dir = join(t.dir, 'crash');
    const config = writeJson(`${dir}.json`, doorConfig(dir, reader.path));
    const gpioFile = join(dir, 'gpio.json');
    const agent = spawnAgent(config, { nodeArgs: ['--import', CRASH_PRELOAD] });
    try {
      await agent.waitForLog((l) => l.msg === 'ready for badges', 'ready');
      await rexUnlock(agent, gpioFile);
      agent.proc.kill('SIGUSR2');
      const exit = await agent.exited;
      assert.equal(exit.code, 1);
      assert.equal(readGpio(gpioFile).lines['17']!.level, 0, 'strike de-energised before the process went away');
      const fatal = agent.logs.find((l) => l.level === 'fatal');
      assert.match(String(fatal?.msg), /uncaught error, outputs driven safe, exiting: injected by the test/);
    } finally {
      await agent.stop('SIGKILL');
    }
  });

  it('leaves the strike energised on SIGKILL, and `gdo gpio safe` (ExecStopPost) makes it safe', async () => {
    const dir = join(t.dir, 'kill');
    const config = writeJson(`${dir}.json`, doorConfig(dir, reader.path));
    const gpioFile = join(dir, 'gpio.json');
    const agent = spawnAgent(config);
    await agent.waitForLog((l) => l.msg === 'ready for badges', 'ready');
    await rexUnlock(agent, gpioFile);
    await agent.stop('SIGKILL');
    assert.equal(readGpio(gpioFile).lines['17']!.level, 1, 'nothing could run: the strike stays energised');
    const r = gdo(['gpio', 'safe', '--config', config]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^front\.strike +GPIO 17 -> low \(safe\)$/m);
    assert.deepEqual(['17', '22', '23'].map((l) => readGpio(gpioFile).lines[l]!.level), [0, 0, 0]);
  });
});

describe('gdo agent: an enrolled door node', () => {
  let reader: SimReader;
  const t = tempDir();
  before(async () => { reader = await simReader(); });
  after(async () => { await reader.dispose(); t.dispose(); });

  it('grants a registered badge, unlocks, and has the access log committed when SIGTERM follows at once', async () => {
    const dir = join(t.dir, 'enrolled');
    const site = enrolledDoorNode(dir, UID);
    const config = writeJson(`${dir}.json`, doorConfig(dir, reader.path, { org: site.org }));
    const gpioFile = join(dir, 'gpio.json');
    const agent = spawnAgent(config);
    try {
      await agent.waitForLog((l) => l.msg === 'ready for badges', 'ready');
      const s = (await agent.get('/status')).json() as { enrolment: { enrolled: boolean; state: string; site_secret: boolean } };
      assert.deepEqual([s.enrolment.enrolled, s.enrolment.state, s.enrolment.site_secret], [true, 'enrolled', true]);
      reader.sim.present({ uid: UID });
      const logged = await agent.waitForLog((l) => l['event'] === 'door.access', 'the decision');
      const d = logged['decision'] as Record<string, unknown>;
      assert.deepEqual([d['allow'], d['reason'], d['member_id']], [true, 'allowed', site.member]);
      await waitFor(() => readGpio(gpioFile).lines['17']?.level === 1, 'the strike to energise');
      const exit = await agent.stop('SIGTERM');
      assert.equal(exit.code, 0);
      assert.equal(readGpio(gpioFile).lines['17']!.level, 0);
      for (const form of uidForms(UID)) assert.equal(agent.stdout().includes(form), false, `badge id leaked as ${form}`);
    } finally {
      await agent.stop('SIGKILL');
    }
    const l = Ledger.open({ path: join(dir, 'ledger.db'), dapps: allDapps });
    try {
      const decisions = [...l.events()].map((raw) => decodeEvent(raw)).filter((e) => e.dapp === 'access' && e.type === 'decision');
      assert.equal(decisions.length, 1, 'the grant is in the ledger, signed by the node');
      const body = decisions[0]!.body as Record<string, unknown>;
      assert.deepEqual([body['resource'], body['allow'], body['member'], body['badge']], ['door:front', true, site.member, site.badge]);
    } finally {
      l.close();
    }
  });
});

describe('gdo agent: a failing ledger', () => {
  let reader: SimReader;
  const t = tempDir();
  before(async () => { reader = await simReader(); });
  after(async () => { await reader.dispose(); t.dispose(); });

  it('ends a grant and keeps the door locked while the database is gone, reopens it, and counts the restart', async () => {
    const dir = join(t.dir, 'node');
    const gpioFile = join(t.dir, 'gpio.json');
    const site = enrolledDoorNode(dir, UID, join(dir, 'db', 'ledger.db'));
    const config = writeJson(`${dir}.json`, doorConfig(dir, reader.path, {
      org: site.org, ledger: { file: 'db/ledger.db', health_check_ms: 500 }, gpio: { backend: 'fake', fake_state_file: gpioFile },
    }));
    const agent = spawnAgent(config);
    type View = { doors: { faults: string[] }[]; parts: { name: string; state: string; restarts: number }[] };
    const view = async (): Promise<View> => (await agent.get('/status')).json() as View;
    try {
      await agent.waitForLog((l) => l.msg === 'ready for badges', 'ready');
      reader.sim.present({ uid: UID });
      await waitFor(() => readGpio(gpioFile).lines['17']?.level === 1, 'the strike to energise on the grant');
      reader.sim.remove();
      renameSync(join(dir, 'db'), join(dir, 'db-moved-away')); // the database's directory vanished under the agent
      // (the reopened database is a new, empty one: the node is then no longer enrolled, and says so)
      await agent.waitForLog((l) => l['event'] === 'door.fault' && l['fault'] === 'ledger', 'the door to record the ledger fault');
      assert.ok(agent.logs.some((l) => l['part'] === 'ledger' && /^ledger failed: database check failed: ENOENT/.test(l.msg)));
      assert.equal(readGpio(gpioFile).lines['17']!.level, 0, 'the grant ended at once: locked during a ledger fault');
      let v = await view();
      for (let i = 0; i < 100 && !(v.parts.find((p) => p.name === 'ledger')!.restarts >= 1 && v.doors[0]!.faults.length === 0); i++) {
        await new Promise((r) => setTimeout(r, 100));
        v = await view();
      }
      assert.deepEqual(v.doors[0]!.faults, [], 'fault cleared once the ledger reopened');
      assert.equal(v.parts.find((p) => p.name === 'ledger')!.state, 'ok');
      assert.match((await agent.get('/metrics')).text, /^gdo_part_restarts_total\{part="ledger"\} 1$/m);
      assert.equal((await agent.stop()).code, 0);
    } finally {
      await agent.stop('SIGKILL');
    }
  });
});
