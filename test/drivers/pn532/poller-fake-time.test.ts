// The poller's timing behaviour on fake time: poll interval, debouncing a card left on the reader,
// card-removed, health checks, re-initialisation after silence, reconnect backoff, the RSTPDN pulse and a
// reader that babbles garbage for minutes. Exact and fast: no wall-clock waits, no timing assertions on
// real time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FakeClock } from '../../../drivers/gpio/fake-clock.ts';
import { FakeGpioBackend } from '../../../drivers/gpio/fake.ts';
import { Command } from '../../../drivers/pn532/commands.ts';
import { openRstpdn, rstpdnPulse } from '../../../drivers/pn532/rstpdn.ts';
import { fakeTimeRig, gaps, runFor, runUntil } from './fake-time.ts';

const UID = Buffer.from('04a31261ee0280', 'hex');
const POLL = Command.InListPassiveTarget;

void test('polls every intervalMs and health-checks the idle reader every healthCheckMs', async () => {
  const r = fakeTimeRig({ intervalMs: 200, healthCheckMs: 5_000 });
  try {
    r.poller.start();
    await runUntil(r.clock, () => r.poller.status().state === 'ready', 'ready');
    const t0 = r.clock.now();
    await runFor(r.clock, 30_000);
    const pollGaps = gaps(r.sent, POLL, t0);
    assert.ok(pollGaps.length >= 100, `only ${pollGaps.length} polls in 30 s`);
    // The gap is the interval plus the command's own ACK/response time (3 ms in the simulator), plus a
    // health check's 3 ms when one ran in between.
    for (const g of pollGaps) assert.ok(g >= 200 && g <= 200 + 3 + 3, `gap ${g} ms`);
    const health = gaps(r.sent, Command.GetFirmwareVersion, t0);
    assert.ok(health.length >= 4);
    for (const g of health) assert.ok(g >= 5_000 && g < 5_000 + 210, `health-check gap ${g} ms`);
    assert.equal(r.poller.status().counters.pollErrors, 0);
    assert.equal(r.poller.status().counters.garbageBytes, 0, 'a healthy link shows no noise');
  } finally {
    await r.stop();
  }
});

void test('a card left on the reader for a minute is one presentation; removal after removalPolls empty polls', async () => {
  const r = fakeTimeRig({ intervalMs: 150, removalPolls: 3 });
  const seen: string[] = [];
  r.poller.on('card', () => seen.push(`card@${r.clock.now()}`));
  r.poller.on('card-removed', (e) => seen.push(`removed:${e.reason}@${r.clock.now()}`));
  try {
    r.poller.start();
    await runUntil(r.clock, () => r.poller.status().state === 'ready', 'ready');
    r.sim.present({ uid: UID });
    await runFor(r.clock, 60_000);
    assert.equal(seen.length, 1);
    assert.ok((r.sim.stats.commands[Command.InRelease] ?? 0) > 300, 'released after every read, so each poll re-detects');
    const removedAt = r.clock.now();
    r.sim.remove();
    await runFor(r.clock, 5_000);
    assert.equal(seen.length, 2);
    assert.match(seen[1]!, /^removed:removed@/);
    // Three empty polls: the third is at most 3 intervals (+ command times) after the card left.
    const at = Number(seen[1]!.split('@')[1]);
    assert.ok(at - removedAt > 2 * 150 && at - removedAt <= 3 * (150 + 10), `removal seen after ${at - removedAt} ms`);
    assert.equal(r.poller.status().counters.cards, 1);
  } finally {
    await r.stop();
  }
});

void test('a reader that goes silent is re-initialised after silenceMs even below maxConsecutiveErrors', async () => {
  const r = fakeTimeRig({ maxConsecutiveErrors: 1_000, silenceMs: 3_000 });
  try {
    r.poller.start();
    await runUntil(r.clock, () => r.poller.status().state === 'ready', 'ready');
    const wakeUps = r.sim.stats.wakeUps;
    const hungAt = r.clock.now();
    r.sim.hang('until-wake');
    await runUntil(r.clock, () => r.poller.status().state === 'fault', 'fault');
    const faultAfter = r.clock.now() - hungAt;
    assert.ok(faultAfter >= 3_000 && faultAfter < 3_000 + 1_500, `fault after ${faultAfter} ms of silence`);
    assert.equal(r.poller.status().lastError?.code, 'PN532_TIMEOUT');
    await runUntil(r.clock, () => r.poller.status().state === 'ready', 'ready again');
    assert.equal(r.sim.stats.wakeUps, wakeUps + 1, 're-init sent the wake-up sequence');
    assert.ok(r.poller.status().counters.ackTimeouts > 0);
  } finally {
    await r.stop();
  }
});

void test('failed health checks trigger re-initialisation after maxConsecutiveErrors', async () => {
  const r = fakeTimeRig({ healthCheckMs: 1_000, maxConsecutiveErrors: 2 });
  try {
    r.poller.start();
    await runUntil(r.clock, () => r.poller.status().state === 'ready', 'ready');
    const inits = r.poller.status().counters.inits;
    const polls = r.poller.status().counters.polls;
    r.sim.injectFault({ kind: 'app-error' }, 2, Command.GetFirmwareVersion);
    await runUntil(r.clock, () => r.poller.status().counters.inits > inits, 're-init');
    assert.equal(r.poller.status().lastError?.code, 'PN532_APP_ERROR');
    assert.equal(r.poller.status().state, 'ready');
    // After the first failed check the poller checks again before polling: the second failure re-inits.
    assert.equal(r.poller.status().counters.polls, polls + 5, 'five polls ran before the first check (1 s / 200 ms)');
    assert.equal(r.poller.status().counters.pollErrors, 2);
  } finally {
    await r.stop();
  }
});

void test('the adapter vanishes: reconnect attempts back off exponentially up to maxMs, then it comes back', async () => {
  const r = fakeTimeRig({ backoff: { initialMs: 100, maxMs: 1_600 } });
  try {
    r.poller.start();
    await runUntil(r.clock, () => r.poller.status().state === 'ready', 'ready');
    const before = r.opens.length;
    r.transport.unplug();
    assert.equal(r.poller.status().state, 'disconnected');
    await runFor(r.clock, 20_000);
    const attempts = r.opens.slice(before);
    const delays = attempts.slice(1).map((t, i) => t - attempts[i]!);
    assert.deepEqual(delays.slice(0, 6), [100, 200, 400, 800, 1_600, 1_600]);
    assert.ok(delays.every((d) => d <= 1_600));
    assert.equal(r.poller.status().counters.openFailures, attempts.length);
    assert.equal(r.poller.status().lastError?.code, 'PN532_PORT');
    r.transport.replug();
    await runUntil(r.clock, () => r.poller.status().state === 'ready', 'ready after replug');
    assert.ok(r.clock.now() - attempts.at(-1)! <= 1_600 + 100, 'back within one backoff step');
    // The backoff was reset by the successful init: the next outage starts at initialMs again.
    const again = r.opens.length;
    r.transport.unplug();
    await runFor(r.clock, 500);
    assert.deepEqual(r.opens.slice(again).map((t, i, a) => (i ? t - a[i - 1]! : 0)).slice(1, 3), [100, 200]);
  } finally {
    await r.stop();
  }
});

void test('a chip that only a reset revives gets an RSTPDN pulse on its GPIO line (low, then high)', async () => {
  const clock = new FakeClock();
  const gpio = new FakeGpioBackend({ clock });
  const pulse = rstpdnPulse(openRstpdn(gpio, { line: 4 }), { clock, lowMs: 20, bootMs: 100 });
  const pulses: number[] = [];
  const r = fakeTimeRig({
    resetAfterFailures: 2,
    resetPulse: async () => {
      pulses.push(clock.now());
      await pulse();
      await r.sim.resetPulse();
    },
  }, {}, clock);
  try {
    assert.equal(gpio.board.level(4), 1, 'RSTPDN idles high: the reader runs');
    r.poller.start();
    await runUntil(clock, () => r.poller.status().state === 'ready', 'ready');
    gpio.board.clearHistory();
    r.sim.hang('until-reset');
    await runUntil(clock, () => pulses.length === 1, 'reset pulse');
    await runUntil(clock, () => r.poller.status().state === 'ready', 'ready after the pulse');
    const writes = gpio.board.history(4).map((w) => [w.level, w.at - pulses[0]!]);
    assert.deepEqual(writes, [[0, 0], [1, 20]]);
    assert.equal(r.poller.status().counters.resetPulses, 1);
    assert.equal(r.poller.status().counters.initFailures, 2);
  } finally {
    await r.stop();
  }
});

void test('a reader babbling garbage for five minutes: no card, fault state, counters show it, then recovery', async () => {
  const r = fakeTimeRig();
  const cards: Buffer[] = [];
  const states: string[] = [];
  r.poller.on('card', (e) => cards.push(e.uid));
  r.poller.on('status', (s) => states.push(s.state));
  try {
    r.poller.start();
    await runUntil(r.clock, () => r.poller.status().state === 'ready', 'ready');
    r.sim.present({ uid: UID });
    await runUntil(r.clock, () => cards.length === 1, 'card');
    r.sim.jam({ everyMs: 15, chunk: 24, seed: 7 });
    await runFor(r.clock, 5 * 60_000);
    const s = r.poller.status();
    assert.equal(s.state, 'fault');
    assert.ok(s.counters.garbageBytes > 100_000, `${s.counters.garbageBytes} garbage bytes`);
    assert.ok(s.counters.initFailures >= 10, `${s.counters.initFailures} failed inits`);
    assert.equal(cards.length, 1, 'garbage never became a card');
    assert.match(s.lastError?.message ?? '', /no ACK/);
    r.sim.unjam();
    await runUntil(r.clock, () => r.poller.status().state === 'ready', 'ready after the noise stops', 60_000);
    await runUntil(r.clock, () => cards.length === 2, 'the card is reported again');
    assert.deepEqual(cards.map((c) => c.toString('hex')), [UID.toString('hex'), UID.toString('hex')]);
    assert.deepEqual(states, ['ready', 'fault', 'ready']);
  } finally {
    await r.stop();
  }
});

void test('frameGapMs keeps a quiet gap after each reply before the next frame (USB-UART adapters)', async () => {
  const r = fakeTimeRig({ pn532: { ackTimeoutMs: 50, responseTimeoutMs: 500, frameGapMs: 4 } });
  try {
    r.poller.start();
    await runUntil(r.clock, () => r.poller.status().state === 'ready', 'ready');
    r.sim.present({ uid: UID });
    await runUntil(r.clock, () => (r.sim.stats.commands[Command.InRelease] ?? 0) >= 3, 'three reads and releases');
    // The simulator replies 3 ms after a command (ACK at 1, reply at 3); the release follows 4 ms later.
    const polls = r.sent.filter((c) => c.code === POLL).map((c) => c.at);
    const releases = r.sent.filter((c) => c.code === Command.InRelease).map((c) => c.at);
    for (const rel of releases) {
      const poll = polls.filter((p) => p < rel).at(-1)!;
      assert.equal(rel - poll, 3 + 4);
    }
  } finally {
    await r.stop();
  }
  const plain = fakeTimeRig();
  try {
    plain.poller.start();
    await runUntil(plain.clock, () => plain.poller.status().state === 'ready', 'ready');
    plain.sim.present({ uid: UID });
    await runUntil(plain.clock, () => (plain.sim.stats.commands[Command.InRelease] ?? 0) >= 1, 'a release');
    const poll = plain.sent.filter((c) => c.code === POLL).at(-1)!.at;
    const rel = plain.sent.find((c) => c.code === Command.InRelease)!.at;
    assert.equal(rel - poll, 3, 'without a gap the release goes out with the reply');
  } finally {
    await plain.stop();
  }
});
