// Benchmark `decide-e2e` (issue 4): a badge from the wire to the strike. The PN532 simulator sits on one
// end of a socat pseudo-terminal pair and answers the real driver's polls; the real poller, protocol core
// and door controller run on the other end. Per badge we take the time from the moment the last byte of the
// InListPassiveTarget reply has been written to the sim's pty (a synchronous write(2) returned: the bytes
// are in the kernel, as they would be on the wire) until the door controller writes the strike line
// energised. The goal is to beat the reply's own time on the wire at 115,200 baud (uart_frame_us), so the
// host never adds more delay than the serial link already does.
//
// The split metrics say where the time goes: pty_* is write() on the sim side until the host transport's
// data event (kernel tty layer, socat's relay, libuv); host_* is that data event until the strike write
// (frame parser, protocol core, poller, door controller, decide, GPIO). On a Pi the pty leg is replaced by
// the UART, whose cost is the frame's wire time itself.
//
// The decider is pluggable: a function (uid, door) => Decision. Until the ledger-backed decide() is wired
// in here, IN_MEMORY_STAND_IN answers from a Map of 10,000 members: it measures everything but the ledger
// lookup (see bench `decide` for that).
//   GDO_BENCH_E2E_BADGES (default 1000) badges after 50 warm-up badges.
import { constants, openSync, writeSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { ReadStream } from 'node:tty';
import { FakeClock } from '../drivers/gpio/fake-clock.ts';
import { FakeGpioBackend } from '../drivers/gpio/fake.ts';
import type { GpioBackend, OutputLine } from '../drivers/gpio/types.ts';
import { Command, encodeTargetsA } from '../drivers/pn532/commands.ts';
import { encodeResponse } from '../drivers/pn532/frame.ts';
import { Pn532Poller } from '../drivers/pn532/poller.ts';
import { Pn532Simulator } from '../drivers/pn532/simulator.ts';
import { SerialPortTransport } from '../drivers/serial/serialport-transport.ts';
import { parseDoorConfig } from '../agent/controllers/door-config.ts';
import { DoorController } from '../agent/controllers/door.ts';
import type { Decision } from '../agent/controllers/types.ts';
import { socatAvailable, startPtyPair } from '../test/drivers/pn532/helpers.ts';
import type { Metric } from './metric.ts';

/** The pluggable decision: what the ledger says about this badge UID at this door resource. */
export type DecideFn = (uid: Buffer, door: string) => Decision;

export interface DecideFixture {
  /** Shown in the metrics' units so a stand-in run is never mistaken for the real thing. */
  name: string;
  members: number;
  /** Badge UIDs of members, to present at the reader. */
  uids: Buffer[];
  decide: DecideFn;
  close?: () => void;
}

/** STAND-IN, not the ledger: 10,000 members in a Map keyed by UID, every one allowed at every door. */
export function inMemoryStandIn(members = 10_000): DecideFixture {
  const byUid = new Map<string, string>();
  const uids: Buffer[] = [];
  for (let i = 0; i < members; i++) {
    const uid = Buffer.alloc(7);
    uid[0] = 0x04; // NXP manufacturer byte: a 7-byte NTAG / DESFire-style UID
    uid.writeUInt32BE(i, 3);
    uids.push(uid);
    byUid.set(uid.toString('hex'), `m${i}`);
  }
  return {
    name: 'IN_MEMORY_STAND_IN',
    members,
    uids,
    decide: (uid) => {
      const memberId = byUid.get(uid.toString('hex'));
      return memberId ? { allow: true, reason: 'member', memberId } : { allow: false, reason: 'unknown_card' };
    },
  };
}

const BAUD = 115_200;
const BITS_PER_BYTE = 10; // start + 8 data + stop (8N1)

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

const round = (us: number): number => Math.round(us * 10) / 10;

/** A GPIO backend that timestamps the moment the strike line is driven energised. */
function timedGpio(inner: GpioBackend, strikeLine: number, onStrike: () => void): GpioBackend {
  return {
    name: `${inner.name}+timed`,
    openInput: (line, opts) => inner.openInput(line, opts),
    close: () => inner.close(),
    openOutput: (line, opts): OutputLine => {
      const out = inner.openOutput(line, opts);
      if (line !== strikeLine) return out;
      return {
        line: out.line,
        activeLow: out.activeLow,
        set: (on) => { out.set(on); if (on) onStrike(); },
        get: () => out.get(),
        close: () => out.close(),
        unexport: () => out.unexport(),
      };
    },
  };
}

/** True for a PN532 -> host frame answering InListPassiveTarget with at least one card. */
function isCardReply(b: Buffer): boolean {
  return b.length > 8 && b[2] === 0xff && b[5] === 0xd5 && b[6] === Command.InListPassiveTarget + 1 && b[7]! > 0;
}

export async function decideE2eBench(opts: { fixture?: DecideFixture; badges?: number } = {}): Promise<Metric[]> {
  if (!socatAvailable()) throw new Error('decide-e2e needs socat for the pseudo-terminal pair (apt-get install socat)');
  const fixture = opts.fixture ?? inMemoryStandIn();
  const badges = opts.badges ?? Number(process.env['GDO_BENCH_E2E_BADGES'] ?? 1_000);
  const warmup = 50;
  const pair = await startPtyPair();
  // The simulated chip writes with write(2) on the pty itself, so the timestamp marks the bytes leaving it
  // rather than serialport's thread-pool hop on the sim side (which a real PN532 does not have).
  const simFd = openSync(pair.ptys[1], constants.O_RDWR | constants.O_NOCTTY);
  const simIn = new ReadStream(simFd);
  const sim = new Pn532Simulator({ ackDelayMs: 0, responseDelayMs: 0 });
  let replyWrittenAt = 0n;
  let lastRxAt = 0n;
  let strikeAt = 0n;
  const hostTransport = new SerialPortTransport({ path: pair.hostLink, baudRate: BAUD });
  const poller = new Pn532Poller({
    transport: hostTransport, intervalMs: 2, removalPolls: 1, healthCheckMs: 60_000,
    pn532: { ackTimeoutMs: 200, responseTimeoutMs: 500 },
  });
  // Runs in the data event, before the microtasks that carry the frame up to the door.
  hostTransport.onData(() => { lastRxAt = process.hrtime.bigint(); });
  const clock = new FakeClock(); // the door's pulse timers: advanced by hand between badges
  const gpio = timedGpio(new FakeGpioBackend({ clock }), 17, () => { strikeAt = process.hrtime.bigint(); });
  const events: unknown[] = [];
  const door = new DoorController({
    config: parseDoorConfig({ id: 'front', unlock_ms: 500, pins: { strike: { line: 17 }, led: { line: 22 }, buzzer: { line: 23 } } }),
    gpio, clock, cards: poller,
    decider: { decide: (req) => fixture.decide(req.credential, req.resource) },
    sink: { record: (kind, body) => { events.push({ kind, body }); } }, // a queue, as the agent's group-committed log
    policy: { mode: () => 'normal' },
  });
  let removed = 0;
  poller.on('card-removed', () => { removed++; });
  const total: number[] = [];
  const pty: number[] = [];
  const host: number[] = [];
  let replyBytes = 0;
  const waitFor = async (check: () => boolean, what: string): Promise<void> => {
    const end = Date.now() + 10_000;
    while (!check()) {
      if (Date.now() > end) throw new Error(`decide-e2e: no ${what} within 10 s (reader ${poller.status().state})`);
      await new Promise<void>((r) => setImmediate(r));
    }
  };
  try {
    simIn.setRawMode(true);
    sim.onOutput((bytes) => {
      for (let off = 0; off < bytes.length; ) off += writeSync(simFd, bytes, off);
      if (isCardReply(bytes)) {
        replyBytes = bytes.length;
        replyWrittenAt = process.hrtime.bigint();
      }
    });
    simIn.on('data', (chunk: Buffer) => sim.receive(chunk));
    door.start();
    poller.start();
    await waitFor(() => poller.status().state === 'ready', 'ready reader');
    for (let i = 0; i < warmup + badges; i++) {
      const uid = fixture.uids[(i * 7919) % fixture.uids.length]!;
      strikeAt = 0n;
      replyWrittenAt = 0n;
      sim.present({ uid });
      await waitFor(() => strikeAt !== 0n, 'strike write');
      if (i >= warmup) {
        total.push(Number(strikeAt - replyWrittenAt) / 1000);
        pty.push(Number(lastRxAt - replyWrittenAt) / 1000);
        host.push(Number(strikeAt - lastRxAt) / 1000);
      }
      const gone = removed;
      sim.remove();
      await waitFor(() => removed > gone, 'card-removed');
      clock.advance(1_000); // the pulse ends, so the next badge energises the strike again
    }
  } finally {
    await poller.stop();
    door.stop();
    sim.cancelOutput();
    simIn.destroy(); // closes simFd
    await pair.dispose();
    fixture.close?.();
  }
  const granted = events.filter((e) => (e as { body: { allow: boolean } }).body.allow).length;
  if (granted < warmup + badges) throw new Error(`decide-e2e: only ${granted} grants for ${warmup + badges} badges`);
  const frame = encodeResponse(Command.InListPassiveTarget, encodeTargetsA([{ tg: 1, atqa: 0x44, sak: 0, uid: fixture.uids[0]! }]));
  if (replyBytes !== frame.length) throw new Error(`decide-e2e: reply was ${replyBytes} bytes, expected ${frame.length}`);
  const uartFrameUs = (frame.length * BITS_PER_BYTE * 1e6) / BAUD;
  const s = 'decide-e2e';
  const stand = fixture.name === 'IN_MEMORY_STAND_IN' ? `, ${fixture.name} decider` : '';
  return [
    { suite: s, metric: 'p50_us', value: round(percentile(total, 50)), unit: `us${stand}` },
    { suite: s, metric: 'p90_us', value: round(percentile(total, 90)), unit: 'us' },
    { suite: s, metric: 'p99_us', value: round(percentile(total, 99)), unit: `us (goal <= uart_frame_us${stand})` },
    { suite: s, metric: 'uart_frame_us', value: round(uartFrameUs), unit: `us (${frame.length}-byte reply, 7-byte UID, 115200 8N1)` },
    { suite: s, metric: 'pty_p50_us', value: round(percentile(pty, 50)), unit: 'us (sim write(2) -> host data event)' },
    { suite: s, metric: 'pty_p99_us', value: round(percentile(pty, 99)), unit: 'us' },
    { suite: s, metric: 'host_p50_us', value: round(percentile(host, 50)), unit: 'us (host data event -> strike write)' },
    { suite: s, metric: 'host_p99_us', value: round(percentile(host, 99)), unit: 'us' },
    { suite: s, metric: 'badges', value: total.length, unit: `badges (${fixture.members} members)` },
    // The pty leg is a kernel work queue and a socat process: on a loaded machine its tail is scheduling.
    { suite: s, metric: 'loadavg_1m', value: round(loadavg()[0]!), unit: `runnable tasks (cores: ${availableParallelism()})` },
  ];
}
