// sd_notify through systemd-notify (agent/daemon/notify.ts explains why) and the watchdog loop, with the
// helper and the clock replaced. The real thing, a datagram on a test $NOTIFY_SOCKET from a real agent, is
// in notify-process.test.ts.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { FakeClock } from '../../drivers/gpio/fake-clock.ts';
import type { Clock, TimerHandle } from '../../drivers/gpio/clock.ts';
import { createLogger } from '../../agent/daemon/log.ts';
import { SystemdNotifier, watchdogInterval, type SpawnHelper } from '../../agent/daemon/notify.ts';
import { Watchdog } from '../../agent/daemon/watchdog.ts';

const quiet = () => createLogger({ level: 'fatal', destination: new Writable({ write(_c, _e, cb) { cb(); } }) });

describe('sd_notify', () => {
  it('takes WATCHDOG_USEC only when WATCHDOG_PID is absent or names this process', () => {
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '30000000' }, 42), 15_000, 'ping at half the timeout');
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42), 15_000);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '41' }, 42), undefined);
    assert.equal(watchdogInterval({}, 42), undefined);
    assert.equal(watchdogInterval({ WATCHDOG_USEC: 'soon' }, 42), undefined);
  });

  it('sends each message through the helper, in order, without blocking on PID 1', async () => {
    const calls: string[][] = [];
    const run: SpawnHelper = async (args, env) => {
      assert.equal(env['NOTIFY_SOCKET'], '@/org/test/notify');
      calls.push(args);
      return { code: 0, stderr: '' };
    };
    const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: '@/org/test/notify' }, log: quiet(), run });
    assert.equal(n.enabled, true);
    await Promise.all([n.send({ READY: '1', STATUS: 'ready: 1 door\nand more' }), n.send({ WATCHDOG: '1' }), n.send({ STOPPING: '1' })]);
    assert.deepEqual(calls, [['--no-block', 'READY=1', 'STATUS=ready: 1 door and more'], ['--no-block', 'WATCHDOG=1'], ['--no-block', 'STOPPING=1']]);
  });

  it('keeps one queued ping, not a pile of them behind a slow helper', async () => {
    let release: () => void = () => undefined;
    const calls: string[][] = [];
    const run: SpawnHelper = (args) => {
      calls.push(args);
      return new Promise((resolve) => { release = () => resolve({ code: 0, stderr: '' }); });
    };
    const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: '/run/systemd/notify' }, log: quiet(), run });
    const first = n.send({ STATUS: 'x' });
    const pings = [n.send({ WATCHDOG: '1' }), n.send({ WATCHDOG: '1' }), n.send({ WATCHDOG: '1' })];
    await new Promise((r) => setImmediate(r));
    release();
    await first;
    await new Promise((r) => setImmediate(r));
    release();
    await Promise.all(pings);
    assert.deepEqual(calls.map((c) => c[1]), ['STATUS=x', 'WATCHDOG=1']);
  });

  it('is off without an AF_UNIX NOTIFY_SOCKET, and gives up once the helper is missing', async () => {
    let runs = 0;
    const missing: SpawnHelper = async () => { runs += 1; throw Object.assign(new Error('spawn systemd-notify ENOENT'), { code: 'ENOENT' }); };
    assert.equal(new SystemdNotifier({ env: {}, log: quiet(), run: missing }).enabled, false);
    assert.equal(new SystemdNotifier({ env: { NOTIFY_SOCKET: 'vsock:2:1234' }, log: quiet(), run: missing }).enabled, false);
    const n = new SystemdNotifier({ env: { NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '2000000' }, log: quiet(), run: missing });
    assert.equal(n.watchdogIntervalMs, 1000);
    assert.equal(await n.send({ READY: '1' }), false);
    assert.equal(await n.send({ WATCHDOG: '1' }), false);
    assert.equal(runs, 1, 'no second attempt after ENOENT');
  });
});

describe('watchdog loop', () => {
  it('pings each interval while healthy and skips while not, telling what changed', () => {
    const clock = new FakeClock();
    let problems: string[] = [];
    const changes: string[][] = [];
    let pings = 0;
    const w = new Watchdog({ intervalMs: 500, clock, problems: () => problems, ping: () => { pings += 1; }, onChange: (p) => changes.push(p) });
    w.start();
    clock.advance(499);
    assert.equal(pings, 0);
    clock.advance(1);
    assert.equal(pings, 1);
    problems = ['reader main disconnected'];
    clock.advance(1500);
    assert.equal(pings, 1, 'no ping while a reader is down');
    assert.equal(w.skipped, 3);
    problems = [];
    clock.advance(500);
    assert.equal(pings, 2);
    assert.deepEqual(changes, [['reader main disconnected'], []]);
    w.stop();
    clock.advance(5000);
    assert.equal(pings, 2);
    assert.equal(clock.pending(), 0);
  });

  it('does not ping for a round whose timer fired a whole interval late (the event loop was stuck)', () => {
    // A clock whose timers fire late, as they do behind a blocked event loop.
    let now = 0;
    const timers: { at: number; fn: () => void }[] = [];
    const clock: Clock = {
      now: () => now,
      setTimeout: (fn, ms) => { timers.push({ at: now + ms, fn }); return timers.length as unknown as TimerHandle; },
      clearTimeout: () => undefined,
    };
    const fire = (late: number): void => { const t = timers.shift()!; now = t.at + late; t.fn(); };
    const reasons: string[][] = [];
    let pings = 0;
    const w = new Watchdog({ intervalMs: 100, clock, problems: () => [], ping: () => { pings += 1; }, onChange: (p) => reasons.push(p) });
    w.start();
    fire(0);
    assert.equal(pings, 1);
    fire(250);
    assert.equal(pings, 1);
    assert.match(reasons[0]![0]!, /event loop stalled for 250 ms/);
    fire(0);
    assert.equal(pings, 2);
  });
});
