// One poller suite, run against every link to the simulator (MockBinding, socat pty pair): docs/design-notes.md
// habit 4. The driver code is the real one; only the far end of the byte stream is simulated.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ByteTransport } from '../../../drivers/serial/transport.ts';
import { Pn532Poller, type PollerLogEntry, type PollerOptions } from '../../../drivers/pn532/poller.ts';
import { Command } from '../../../drivers/pn532/commands.ts';
import type { Pn532Simulator } from '../../../drivers/pn532/simulator.ts';
import { waitFor } from './helpers.ts';

export interface Rig {
  transport: ByteTransport;
  sim: Pn532Simulator;
  unplug(): Promise<void>;
  replug(): Promise<void>;
  dispose(): Promise<void>;
}

type Seen = { type: 'card'; uid: string; atqa: number; sak: number; ats?: string } | { type: 'card-removed'; uid: string; reason: string } | { type: 'fault'; code: string };

const FAST: Omit<PollerOptions, 'transport'> = {
  intervalMs: 10,
  removalPolls: 2,
  healthCheckMs: 100,
  maxConsecutiveErrors: 2,
  silenceMs: 5_000,
  backoff: { initialMs: 20, maxMs: 200 },
  pn532: { ackTimeoutMs: 500, responseTimeoutMs: 1_000, sendAttempts: 2 },
};

const UID4 = Buffer.from('a1b2c3d4', 'hex');
const UID7 = Buffer.from('04a31261ee0280', 'hex');
const UID10 = Buffer.from('0102030405060708090a', 'hex');

async function withPoller(
  makeRig: () => Promise<Rig>,
  extra: Partial<PollerOptions>,
  body: (ctx: { rig: Rig; poller: Pn532Poller; seen: Seen[]; logs: PollerLogEntry[] }) => Promise<void>,
): Promise<void> {
  const rig = await makeRig();
  const logs: PollerLogEntry[] = [];
  const poller = new Pn532Poller({ ...FAST, ...extra, transport: rig.transport, log: (e) => logs.push(e) });
  const seen: Seen[] = [];
  poller.on('card', (e) => seen.push({ type: 'card', uid: e.uid.toString('hex'), atqa: e.atqa, sak: e.sak, ...(e.ats ? { ats: e.ats.toString('hex') } : {}) }));
  poller.on('card-removed', (e) => seen.push({ type: 'card-removed', uid: e.uid.toString('hex'), reason: e.reason }));
  poller.on('fault', (e) => seen.push({ type: 'fault', code: e.code }));
  try {
    poller.start();
    await waitFor(() => poller.status().state === 'ready', 'poller ready');
    await body({ rig, poller, seen, logs });
  } finally {
    await poller.stop();
    await rig.dispose();
  }
  // Badge ids are secrets: no log entry may carry one.
  const text = JSON.stringify(logs).toLowerCase();
  for (const uid of [UID4, UID7, UID10]) assert.ok(!text.includes(uid.toString('hex')), 'a UID appeared in the logs');
}

/** Waits for `n` more InListPassiveTarget commands to reach the simulator. */
async function polls(sim: Pn532Simulator, n: number): Promise<void> {
  const target = (sim.stats.commands[Command.InListPassiveTarget] ?? 0) + n;
  await waitFor(() => (sim.stats.commands[Command.InListPassiveTarget] ?? 0) >= target, `${n} polls`);
}

type CardSeen = Exclude<Seen, { type: 'fault' }>;
const cards = (seen: Seen[]): CardSeen[] => seen.filter((s): s is CardSeen => s.type !== 'fault');

export function pollerContract(name: string, makeRig: () => Promise<Rig>): void {
  void test(`${name}: a card left on the reader gives one 'card', taking it away one 'card-removed'`, () =>
    withPoller(makeRig, {}, async ({ rig, poller, seen }) => {
      assert.deepEqual(poller.status().firmware, { ic: 0x32, ver: 1, rev: 6, support: 7 });
      rig.sim.present({ uid: UID4 });
      await waitFor(() => seen.length >= 1, 'card event');
      await polls(rig.sim, 10);
      rig.sim.remove();
      await waitFor(() => seen.length >= 2, 'card-removed event');
      await polls(rig.sim, 5);
      assert.deepEqual(seen, [
        { type: 'card', uid: 'a1b2c3d4', atqa: 0x0004, sak: 0x08 },
        { type: 'card-removed', uid: 'a1b2c3d4', reason: 'removed' },
      ]);
    }));

  void test(`${name}: 7- and 10-byte UIDs, ATS, and a card swapped for another`, () =>
    withPoller(makeRig, {}, async ({ rig, seen }) => {
      rig.sim.present({ uid: UID7, ats: Buffer.from('067577810280', 'hex') });
      await waitFor(() => seen.length >= 1, 'first card');
      rig.sim.present({ uid: UID10 });
      await waitFor(() => seen.length >= 3, 'swap');
      assert.deepEqual(seen, [
        { type: 'card', uid: UID7.toString('hex'), atqa: 0x0044, sak: 0x20, ats: '067577810280' },
        { type: 'card-removed', uid: UID7.toString('hex'), reason: 'replaced' },
        { type: 'card', uid: UID10.toString('hex'), atqa: 0x0084, sak: 0x00 },
      ]);
    }));

  void test(`${name}: garbage, split frames, NACK, bad checksums and a lost reply are absorbed`, () =>
    withPoller(makeRig, {}, async ({ rig, poller, seen }) => {
      rig.sim.present({ uid: UID4 });
      await waitFor(() => seen.length >= 1, 'card event');
      for (const kind of ['garbage', 'split', 'nack', 'bad-checksum', 'no-reply'] as const) {
        rig.sim.injectFault({ kind }, 2);
        await polls(rig.sim, 6);
      }
      assert.deepEqual(cards(seen), [{ type: 'card', uid: 'a1b2c3d4', atqa: 0x0004, sak: 0x08 }]);
      assert.equal(poller.status().state, 'ready');
      assert.ok(poller.pn532.stats.nacksSent >= 1, 'the driver asked for a resend of the corrupted reply');
    }));

  void test(`${name}: stale replies never surface as a card`, () =>
    withPoller(makeRig, {}, async ({ rig, seen }) => {
      rig.sim.present({ uid: UID4 });
      await waitFor(() => seen.length >= 1, 'first card');
      rig.sim.remove();
      await waitFor(() => seen.length >= 2, 'removal');
      // The previous InListPassiveTarget reply (with UID4) comes before the ACK, another command's reply after it.
      rig.sim.present({ uid: UID7 });
      rig.sim.injectFault({ kind: 'stale' }, 5);
      await polls(rig.sim, 10);
      assert.deepEqual(cards(seen).map((s) => [s.type, s.uid]), [
        ['card', 'a1b2c3d4'],
        ['card-removed', 'a1b2c3d4'],
        ['card', UID7.toString('hex')],
      ]);
    }));

  void test(`${name}: a reader that stops answering times out, shows the fault, and is re-initialised`, () =>
    withPoller(makeRig, {}, async ({ rig, poller, seen }) => {
      const wakeUps = rig.sim.stats.wakeUps;
      rig.sim.present({ uid: UID4 });
      await waitFor(() => seen.length >= 1, 'card');
      rig.sim.hang('until-wake');
      await waitFor(() => poller.status().state === 'fault', 'fault state');
      assert.equal(poller.status().lastError?.code, 'PN532_TIMEOUT');
      assert.match(poller.status().lastError?.message ?? '', /InListPassiveTarget|GetFirmwareVersion/);
      await waitFor(() => poller.status().state === 'ready', 'ready again');
      assert.ok(rig.sim.stats.wakeUps > wakeUps, 're-init sent the wake-up sequence');
      await waitFor(() => seen.filter((s) => s.type === 'card').length >= 2, 'card seen again');
      assert.deepEqual(seen.filter((s) => s.type === 'card-removed'), [{ type: 'card-removed', uid: 'a1b2c3d4', reason: 'fault' }]);
    }));

  void test(`${name}: a chip that only a reset brings back gets the RSTPDN pulse`, async () => {
    let pulses = 0;
    let sim: Pn532Simulator | undefined;
    const resetPulse = async (): Promise<void> => {
      pulses++;
      await sim?.resetPulse();
    };
    // A shorter ACK timeout: every failed init waits it out (sends x SAM attempts) before the pulse.
    await withPoller(makeRig, { resetPulse, resetAfterFailures: 1, pn532: { ...FAST.pn532, ackTimeoutMs: 150 } }, async ({ rig, poller }) => {
      sim = rig.sim;
      rig.sim.hang('until-reset');
      await waitFor(() => pulses >= 1, 'reset pulse');
      await waitFor(() => poller.status().state === 'ready', 'ready after the pulse');
      assert.ok(rig.sim.stats.resets >= 1);
    });
  });

  void test(`${name}: the port is missing at start: disconnected with the open error, until it appears`, async () => {
    const rig = await makeRig();
    await rig.unplug();
    const poller = new Pn532Poller({ ...FAST, transport: rig.transport });
    try {
      poller.start();
      await waitFor(() => poller.status().counters.openFailures >= 3, 'three failed opens');
      const s = poller.status();
      assert.equal(s.state, 'disconnected');
      assert.equal(s.lastError?.code, 'PN532_PORT');
      assert.match(s.lastError?.message ?? '', /No such file or directory/);
      await rig.replug();
      await waitFor(() => poller.status().state === 'ready', 'ready once the port exists');
      assert.equal(poller.status().counters.opens, 1);
    } finally {
      await poller.stop();
      await rig.dispose();
    }
  });

  void test(`${name}: the port vanishes and comes back: disconnected, then reconnect with backoff`, () =>
    withPoller(makeRig, {}, async ({ rig, poller, seen }) => {
      const statuses: string[] = [];
      poller.on('status', (s) => statuses.push(s.state));
      rig.sim.present({ uid: UID4 });
      await waitFor(() => seen.length >= 1, 'card');
      await rig.unplug();
      await waitFor(() => poller.status().state === 'disconnected', 'disconnected state');
      assert.equal(poller.status().lastError?.code, 'PN532_DISCONNECTED');
      await waitFor(() => seen.some((s) => s.type === 'card-removed'), 'card-removed on fault');
      const failed = poller.status().counters.openFailures;
      await waitFor(() => poller.status().counters.openFailures >= failed + 2, 'reconnect attempts while it is gone');
      assert.equal(poller.status().state, 'disconnected');
      await rig.replug();
      await waitFor(() => poller.status().state === 'ready', 'ready after replug');
      await waitFor(() => seen.filter((s) => s.type === 'card').length >= 2, 'card reported again');
      assert.deepEqual(cards(seen).map((s) => s.type === 'card-removed' ? s.reason : s.type), ['card', 'fault', 'card']);
      assert.deepEqual(statuses.slice(-3), ['disconnected', 'starting', 'ready']);
    }));
}
