// Fuzzes the PN532 frame parser with random and mutated byte streams, fed in random chunk sizes.
// Invariants: the parser never throws; every valid InListPassiveTarget reply in the stream is
// reported; and no UID is ever reported that was not sent in an intact frame.
//
// Mutations are the ones the frame checksums detect with certainty: one byte changed inside a frame
// (LEN/LCS or TFI..DCS), garbage between frames, extra preamble zeros, broken LCS/DCS, and a frame
// truncated at the end of the stream. Not generated: two changes in one frame, or a frame that lost
// bytes in the middle and is completed by the next frame's bytes. The 8-bit DCS lets such a frame
// through with probability 1/256 (a limit of the PN532 link, UM0701-02 §6.2.1.1), so no parser can
// promise the invariant for them.
//
// A second campaign drives the protocol core (Pn532.inListPassiveTarget) against a device that answers
// each command with garbage, stale replies before the ACK, corrupted replies (which the core NACKs and the
// device resends intact, as the chip does) or nothing: every card the core returns must be the one in the
// intact reply to that very command.
//
// GDO_FUZZ_SCALE (default 1: 100,000 streams and 2,000 driver dialogs; `npm run fuzz` runs 10x, so the
// full campaign feeds 1,000,000 streams) multiplies the counts; GDO_FUZZ_SEED replays a run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command, decodeTargetsA, encodeTargetsA, type TargetA } from '../../drivers/pn532/commands.ts';
import { Pn532Error } from '../../drivers/pn532/errors.ts';
import { ACK_FRAME, APP_ERROR_FRAME, encodeResponse, NACK_FRAME, TFI_PN532_TO_HOST } from '../../drivers/pn532/frame.ts';
import { FrameParser, type ParsedFrame } from '../../drivers/pn532/frame-parser.ts';
import { FakeClock } from '../../drivers/gpio/fake-clock.ts';
import { Pn532 } from '../../drivers/pn532/pn532.ts';
import { MemoryTransport } from '../../drivers/serial/memory-transport.ts';
import { runUntil } from '../drivers/pn532/fake-time.ts';
import { prng } from '../helpers/prng.ts';

const SCALE = Math.max(0.001, Number(process.env.GDO_FUZZ_SCALE ?? '1') || 1);
const STREAMS = Math.round(100_000 * SCALE);
const DIALOGS = Math.round(2_000 * SCALE);
const SEED = process.env.GDO_FUZZ_SEED ? Number(process.env.GDO_FUZZ_SEED) >>> 0 : (Date.now() ^ (process.pid << 16)) >>> 0;


type Rng = () => number;
const int = (rng: Rng, n: number): number => Math.floor(rng() * n);
const bytes = (rng: Rng, n: number): Buffer => {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = int(rng, 256);
  return b;
};

function randomTarget(rng: Rng, tg: number): TargetA {
  const uid = bytes(rng, [4, 7, 10][int(rng, 3)]!);
  const target: TargetA = { tg, atqa: int(rng, 0x10000), sak: int(rng, 256) & ~0x20, uid };
  if (int(rng, 4) === 0) {
    target.sak |= 0x20;
    const ats = bytes(rng, 1 + int(rng, 8));
    ats[0] = ats.length;
    target.ats = ats;
  }
  return target;
}

const OTHER_FRAMES = [
  ACK_FRAME, NACK_FRAME, APP_ERROR_FRAME,
  encodeResponse(Command.GetFirmwareVersion, Buffer.from([0x32, 1, 6, 7])),
  encodeResponse(Command.SAMConfiguration),
  encodeResponse(Command.InListPassiveTarget, Buffer.from([0])),
];

interface Stream {
  data: Buffer;
  /** UIDs sent in intact frames: each must be reported. */
  intact: Set<string>;
  /** UIDs sent only in corrupted frames: none may be reported unless also sent intact. */
  corrupted: Set<string>;
  /** The stream ends inside a frame. */
  truncatedTail: boolean;
}

// Garbage can hold a start code with a valid LEN/LCS (00 FF D0 30): the parser then waits for that
// many bytes before it can reject the candidate and re-scan what it held. On a live link more bytes
// always come; here ACK frames play the next traffic. They carry no UID, so they cannot create one.
const NEXT_TRAFFIC = Buffer.concat(new Array<Buffer>(50).fill(ACK_FRAME));

function makeStream(rng: Rng): Stream {
  const parts: Buffer[] = [];
  const intact = new Set<string>();
  const corrupted = new Set<string>();
  if (int(rng, 10) === 0) return { data: bytes(rng, 1 + int(rng, 64)), intact, corrupted, truncatedTail: false }; // pure noise
  let truncatedTail = false;
  const segments = 1 + int(rng, 6);
  for (let s = 0; s < segments; s++) {
    const kind = int(rng, 10);
    if (kind <= 1) parts.push(bytes(rng, int(rng, 24))); // garbage
    else if (kind === 2) parts.push(OTHER_FRAMES[int(rng, OTHER_FRAMES.length)]!);
    else {
      const targets = [randomTarget(rng, 1)];
      if (int(rng, 8) === 0) targets.push(randomTarget(rng, 2));
      let frame = encodeResponse(Command.InListPassiveTarget, encodeTargetsA(targets));
      const uids = targets.map((t) => t.uid.toString('hex'));
      if (int(rng, 4) === 0) frame = Buffer.concat([Buffer.alloc(1 + int(rng, 6)), frame]); // extra preamble zeros
      const last = s === segments - 1;
      const damage = int(rng, last ? 4 : 3);
      if (damage === 1) {
        // One byte changed between the FF of the start code and the DCS: LCS or DCS must catch it.
        const start = frame.indexOf(0xff, frame.indexOf(0x00));
        const dcs = frame.length - 2;
        const at = start + int(rng, dcs - start + 1);
        frame = Buffer.from(frame);
        frame[at] = (frame[at]! ^ (1 + int(rng, 255))) & 0xff;
        for (const u of uids) corrupted.add(u);
      } else if (damage === 3) {
        frame = frame.subarray(0, 1 + int(rng, frame.length - 2)); // truncated at the end of the stream
        truncatedTail = true;
        for (const u of uids) corrupted.add(u);
      } else {
        for (const u of uids) intact.add(u);
      }
      parts.push(frame);
    }
  }
  return { data: Buffer.concat(parts), intact, corrupted, truncatedTail };
}

/** Feeds the stream in random chunks; returns a failure message or undefined. */
function check(rng: Rng, stream: Stream): string | undefined {
  const reported: string[] = [];
  const onFrame = (f: ParsedFrame): void => {
    if (f.kind !== 'data' || f.tfi !== TFI_PN532_TO_HOST || f.body[0] !== Command.InListPassiveTarget + 1) return;
    try {
      for (const t of decodeTargetsA(f.body.subarray(1))) reported.push(t.uid.toString('hex'));
    } catch (err) {
      if (!(err instanceof Pn532Error)) throw err;
    }
  };
  const parser = new FrameParser(onFrame);
  const { data } = stream;
  for (let i = 0; i < data.length; ) {
    const n = 1 + int(rng, 16);
    parser.push(data.subarray(i, i + n));
    i += n;
  }
  // A truncated frame followed by more traffic is the undetectable case described above: no flush then.
  if (!stream.truncatedTail) parser.push(NEXT_TRAFFIC);
  for (const uid of reported) {
    if (!stream.intact.has(uid)) return `reported UID ${uid} that was not sent intact; stream ${data.toString('hex')}`;
  }
  if (stream.truncatedTail) return undefined; // the tail may still hold a garbage candidate
  for (const uid of stream.intact) {
    if (!reported.includes(uid)) return `intact frame with UID ${uid} was not reported; stream ${data.toString('hex')}`;
  }
  return undefined;
}

void test(`parser fuzz: ${STREAMS} random and mutated streams (seed ${SEED})`, (t) => {
  const rng = prng(SEED);
  const started = performance.now();
  let bytesFed = 0;
  let corruptedFrames = 0;
  for (let i = 0; i < STREAMS; i++) {
    const stream = makeStream(rng);
    bytesFed += stream.data.length;
    corruptedFrames += stream.corrupted.size;
    let failure: string | undefined;
    try {
      failure = check(rng, stream);
    } catch (err) {
      failure = `parser threw ${String(err)}; stream ${stream.data.toString('hex')}`;
    }
    if (failure) assert.fail(`GDO_FUZZ_SEED=${SEED} stream #${i}: ${failure}`);
  }
  const seconds = (performance.now() - started) / 1000;
  t.diagnostic(`${STREAMS} streams, ${bytesFed} bytes, ${corruptedFrames} corrupted card frames, ${seconds.toFixed(1)} s, seed ${SEED}`);
});

/**
 * One dialog: the host sends InListPassiveTarget; the device answers with a random mix of noise, a stale
 * card reply before its ACK, the ACK (or not), and the real reply intact, corrupted or missing. A host NACK
 * gets the intact reply again. Returns the UID of the intact reply, if one was ever sent.
 */
function fuzzDevice(rng: Rng, clock: FakeClock) {
  const out = new Set<(b: Buffer) => void>();
  let truth: string | undefined;
  let intact: Buffer | undefined;
  const emit = (b: Buffer, delay: number): void => {
    const send = (): void => { for (const l of out) l(b); };
    if (delay === 0) send(); else clock.setTimeout(send, delay);
  };
  const hostFrames = new FrameParser((f) => {
    if (f.kind === 'nack' && intact) emit(intact, 1);
    if (f.kind !== 'data' || f.body[0] !== Command.InListPassiveTarget) return;
    const target = randomTarget(rng, 1);
    const reply = encodeResponse(Command.InListPassiveTarget, encodeTargetsA([target]));
    const parts: Buffer[] = [];
    if (int(rng, 3) === 0) parts.push(bytes(rng, int(rng, 40)));
    if (int(rng, 3) === 0) parts.push(encodeResponse(Command.InListPassiveTarget, encodeTargetsA([randomTarget(rng, 1)]))); // stale
    const acked = int(rng, 8) !== 0;
    if (acked) parts.push(ACK_FRAME);
    if (int(rng, 4) === 0) parts.push(bytes(rng, int(rng, 40)));
    const fate = int(rng, 4); // 0 intact, 1 corrupted (resent intact on NACK), 2 missing, 3 intact
    intact = undefined;
    if (acked && fate !== 2) {
      intact = reply;
      truth = target.uid.toString('hex');
      if (fate === 1) {
        const bad = Buffer.from(reply);
        const at = 3 + int(rng, bad.length - 4); // LEN .. DCS
        bad[at] = (bad[at]! ^ (1 + int(rng, 255))) & 0xff;
        parts.push(bad);
      } else {
        parts.push(reply);
      }
    }
    const stream = Buffer.concat(parts);
    let at = 0; // in order, some chunks at once, some a little later, as a UART delivers them
    for (let i = 0; i < stream.length; ) {
      const n = 1 + int(rng, 24);
      at += int(rng, 3);
      emit(stream.subarray(i, i + n), at);
      i += n;
    }
  });
  return {
    device: { receive: (b: Buffer) => hostFrames.push(b), onOutput: (l: (b: Buffer) => void) => { out.add(l); return () => out.delete(l); } },
    truth: () => truth,
  };
}

void test(`driver fuzz: ${DIALOGS} InListPassiveTarget dialogs with noise, stale, corrupted and lost replies (seed ${SEED})`, async (t) => {
  const rng = prng(SEED ^ 0x9e3779b9);
  let cards = 0;
  let errors = 0;
  for (let i = 0; i < DIALOGS; i++) {
    const clock = new FakeClock();
    const dev = fuzzDevice(rng, clock);
    const transport = new MemoryTransport(dev.device);
    await transport.open();
    const pn532 = new Pn532({ transport, clock, ackTimeoutMs: 20, responseTimeoutMs: 40, sendAttempts: 2, nackRetries: 2 });
    let result: { targets?: TargetA[]; error?: unknown } | undefined;
    pn532.inListPassiveTarget().then((targets) => { result = { targets }; }, (error: unknown) => { result = { error }; });
    await runUntil(clock, () => result !== undefined, 'the command to finish', 10_000);
    const where = `GDO_FUZZ_SEED=${SEED} dialog #${i}`;
    if (result!.error !== undefined) {
      errors++;
      if (!(result!.error instanceof Pn532Error)) assert.fail(`${where}: threw ${String(result!.error)}`);
      continue;
    }
    for (const target of result!.targets!) {
      cards++;
      if (target.uid.toString('hex') !== dev.truth()) assert.fail(`${where}: reported UID ${target.uid.toString('hex')}, the intact reply carried ${dev.truth() ?? 'none'}`);
    }
  }
  assert.ok(cards > DIALOGS / 3, `only ${cards} cards came through: the fuzz is not exercising the success path`);
  t.diagnostic(`${DIALOGS} dialogs: ${cards} cards reported (each the intact one), ${errors} typed errors, seed ${SEED}`);
});
