// A PN532 on the other end of a byte stream: it parses the host's frames with the real parser and
// answers with real frames (UM0701-02 §6.2, §7), so the driver above it runs unchanged. Callers
// present and remove cards and inject the faults seen in the field (docs/design-notes.md).
import type { ByteTransport } from '../serial/transport.ts';
import { Listeners } from '../serial/transport.ts';
import { systemClock, type Clock } from './clock.ts';
import { Command, encodeTargetsA, type FirmwareVersion } from './commands.ts';
import { ACK_FRAME, APP_ERROR_FRAME, encodeResponse, NACK_FRAME, TFI_HOST_TO_PN532 } from './frame.ts';
import { FrameParser, type ParsedFrame } from './frame-parser.ts';
import { toTarget, type SimCard } from './sim-card.ts';

export type { SimCard } from './sim-card.ts';

/** One fault applies to the next command the simulator receives. */
export type SimFault =
  | { kind: 'garbage'; bytes?: Buffer } // junk before the ACK
  | { kind: 'split'; chunkSize?: number } // ACK + reply delivered in small chunks
  | { kind: 'no-reply' } // nothing at all, not even an ACK
  | { kind: 'no-response' } // ACK, then nothing
  | { kind: 'stale' } // the previous reply before the ACK, another command's reply after it
  | { kind: 'nack' } // NACK instead of ACK; the command is dropped
  | { kind: 'bad-checksum'; resend?: 'good' | 'bad' } // reply with a broken DCS; a host NACK gets the good (default) or another bad copy
  | { kind: 'app-error' }; // application error frame instead of the reply

export interface Pn532SimulatorOptions {
  /** Default IC 0x32, Ver 1, Rev 6, Support 7 (a PN532 v1.6). */
  firmware?: FirmwareVersion;
  ackDelayMs?: number;
  responseDelayMs?: number;
  chunkDelayMs?: number;
  /** A PN532 on HSU starts in LowVbat and ignores the host until it sees 0x55 (default true). */
  startAsleep?: boolean;
  /** Drop the first SAMConfiguration after a wake-up, as real modules often do. */
  loseFirstSamAfterWake?: boolean;
  /**
   * Answers InDataExchange for the selected card; default returns 90 00. Return `{ status, data }` to set
   * the status byte (§7.1: error bits 0-5, MI bit 6 for chained data).
   */
  onDataExchange?: (data: Buffer) => Buffer | { status: number; data: Buffer };
  clock?: Clock;
}

export interface SimulatorStats {
  commands: Record<number, number>;
  wakeUps: number;
  resets: number;
  acksFromHost: number;
  nacksFromHost: number;
}

/** Mid-field garbage with a start code whose LEN/LCS is wrong, to exercise resynchronisation. */
const DEFAULT_GARBAGE = Buffer.from([0x13, 0x37, 0x00, 0xff, 0x05, 0x00, 0xaa, 0x55, 0x00]);

export class Pn532Simulator {
  readonly stats: SimulatorStats = { commands: {}, wakeUps: 0, resets: 0, acksFromHost: 0, nacksFromHost: 0 };
  private readonly firmware: FirmwareVersion;
  private readonly opts: Required<Pick<Pn532SimulatorOptions, 'ackDelayMs' | 'responseDelayMs' | 'chunkDelayMs' | 'loseFirstSamAfterWake'>>;
  private readonly onDataExchange: (data: Buffer) => Buffer | { status: number; data: Buffer };
  private readonly clock: Clock;
  private readonly parser = new FrameParser((frame) => this.onFrame(frame));
  private readonly output = new Listeners<[Buffer]>();
  private readonly timers = new Set<unknown>();
  private readonly faults: Array<{ fault: SimFault; code: number | undefined }> = [];
  private awake: boolean;
  private hung: 'no' | 'until-wake' | 'until-reset' = 'no';
  private justWoke = false;
  private passiveRetries = 0xff; // MaxRetries after reset (§7.3.1): retry forever
  private card: SimCard | undefined;
  private selected = false;
  private lastReply: Buffer | undefined;
  private resendBad = false;
  private jammed: { everyMs: number; chunk: number; next: () => number; timer: unknown } | undefined;

  constructor(options: Pn532SimulatorOptions = {}) {
    this.firmware = options.firmware ?? { ic: 0x32, ver: 0x01, rev: 0x06, support: 0x07 };
    this.opts = {
      ackDelayMs: options.ackDelayMs ?? 1,
      responseDelayMs: options.responseDelayMs ?? 2,
      chunkDelayMs: options.chunkDelayMs ?? 1,
      loseFirstSamAfterWake: options.loseFirstSamAfterWake ?? false,
    };
    this.onDataExchange = options.onDataExchange ?? (() => Buffer.from([0x90, 0x00]));
    this.clock = options.clock ?? systemClock;
    this.awake = !(options.startAsleep ?? true);
  }

  /** Puts a card in the field (replacing any other). */
  present(card: SimCard): void {
    toTarget(card, 1); // validates the UID length now rather than at the next poll
    this.card = { ...card, uid: Buffer.from(card.uid) };
    this.selected = false;
  }

  remove(): void {
    this.card = undefined;
    this.selected = false;
  }

  get cardPresent(): boolean {
    return this.card !== undefined;
  }

  /** Queues a fault for the next command (`times` consecutive commands), or only for commands with `code`. */
  injectFault(fault: SimFault, times = 1, code?: number): void {
    for (let i = 0; i < times; i++) this.faults.push({ fault, code });
  }

  /** Stops answering: until a wake-up sequence (re-init recovers) or until a reset pulse. */
  hang(until: 'until-wake' | 'until-reset'): void {
    this.cancelOutput();
    this.hung = until;
  }

  /**
   * Babbles: every command is answered with random bytes only (no ACK, no reply), and `chunk` random bytes
   * arrive unprompted every `everyMs`. A reader on the wrong baud rate, a floating RX line or a broken UART
   * looks like this from the host. Seeded, so a run replays. Lasts until unjam(), across reset pulses.
   */
  jam(options: { everyMs?: number; chunk?: number; seed?: number } = {}): void {
    this.unjam();
    let a = (options.seed ?? 0x5eed) >>> 0;
    const next = (): number => {
      // mulberry32: deterministic noise, not security
      a = (a + 0x6d2b79f5) >>> 0;
      let t = Math.imul(a ^ (a >>> 15), a | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) & 0xff;
    };
    const jam = { everyMs: Math.max(1, options.everyMs ?? 20), chunk: Math.max(1, options.chunk ?? 16), next, timer: undefined as unknown };
    this.jammed = jam;
    const tick = (): void => {
      if (this.jammed !== jam) return;
      this.output.call(this.noise(jam.chunk));
      jam.timer = this.clock.setTimeout(tick, jam.everyMs);
    };
    jam.timer = this.clock.setTimeout(tick, jam.everyMs);
  }

  unjam(): void {
    if (this.jammed) this.clock.clearTimeout(this.jammed.timer);
    this.jammed = undefined;
  }

  get isJammed(): boolean {
    return this.jammed !== undefined;
  }

  /** RSTPDN pulse: the chip restarts asleep with default settings. */
  async resetPulse(): Promise<void> {
    this.cancelOutput();
    this.stats.resets++;
    this.hung = 'no';
    this.awake = false;
    this.selected = false;
    this.passiveRetries = 0xff;
    this.parser.reset();
    await Promise.resolve();
  }

  /** Bytes from the host. */
  receive(bytes: Buffer): void {
    let data = bytes;
    if (this.hung === 'until-reset') return;
    if (this.hung === 'until-wake' || !this.awake) {
      const i = data.indexOf(0x55);
      if (i < 0) return;
      this.hung = 'no';
      this.awake = true;
      this.justWoke = true;
      this.stats.wakeUps++;
      this.parser.reset();
      data = data.subarray(i);
    }
    this.parser.push(data);
  }

  /** Bytes to the host. */
  onOutput(listener: (bytes: Buffer) => void): () => void {
    return this.output.add(listener);
  }

  /** Connects the simulator to the far end of a transport (pty, pipe). Returns a detach function. */
  attach(transport: ByteTransport): () => void {
    const offData = transport.onData((chunk) => this.receive(chunk));
    const offOutput = this.onOutput((bytes) => {
      if (transport.isOpen) transport.write(bytes).catch(() => undefined);
    });
    return () => {
      offData();
      offOutput();
    };
  }

  /** Cancels pending output, e.g. when the link goes away. */
  cancelOutput(): void {
    for (const t of this.timers) this.clock.clearTimeout(t);
    this.timers.clear();
  }

  private onFrame(frame: ParsedFrame): void {
    if (frame.kind === 'ack') {
      this.stats.acksFromHost++;
      this.cancelOutput(); // a host ACK aborts the running command (§6.2.1.3)
    } else if (frame.kind === 'nack') {
      this.stats.nacksFromHost++;
      const again = this.lastReply && this.resendBad ? corruptDcs(this.lastReply) : this.lastReply;
      if (again && this.timers.size === 0) this.schedule([[this.opts.ackDelayMs, again]]);
    } else if (frame.kind === 'data' && frame.tfi === TFI_HOST_TO_PN532 && frame.body.length > 0) {
      this.onCommand(frame.body[0]!, frame.body.subarray(1));
    }
  }

  private onCommand(code: number, params: Buffer): void {
    this.stats.commands[code] = (this.stats.commands[code] ?? 0) + 1;
    this.cancelOutput();
    if (this.jammed) return this.schedule([[this.opts.ackDelayMs, this.noise(this.jammed.chunk)]]);
    const lostSam = code === Command.SAMConfiguration && this.justWoke && this.opts.loseFirstSamAfterWake;
    this.justWoke = false;
    if (lostSam) return;
    const i = this.faults.findIndex((f) => f.code === undefined || f.code === code);
    const fault = i < 0 ? undefined : this.faults.splice(i, 1)[0]!.fault;
    this.resendBad = fault?.kind === 'bad-checksum' && fault.resend === 'bad';
    if (fault?.kind === 'no-reply') return;
    if (fault?.kind === 'nack') return this.schedule([[this.opts.ackDelayMs, NACK_FRAME]]);
    const answer = fault?.kind === 'app-error' ? 'app-error' : this.answer(code, params);
    const { ackDelayMs, responseDelayMs } = this.opts;
    const plan: Array<[number, Buffer]> = [];
    if (fault?.kind === 'garbage') plan.push([0, fault.bytes ?? DEFAULT_GARBAGE]);
    if (fault?.kind === 'stale' && this.lastReply) plan.push([0, this.lastReply]);
    plan.push([ackDelayMs, ACK_FRAME]);
    if (fault?.kind === 'stale') {
      const other = code === Command.GetFirmwareVersion ? encodeResponse(Command.SAMConfiguration) : this.firmwareReply();
      plan.push([0, other]);
    }
    if (answer === 'app-error') plan.push([responseDelayMs, APP_ERROR_FRAME]);
    else if (answer !== 'silent' && fault?.kind !== 'no-response') {
      const reply = encodeResponse(code, answer);
      this.lastReply = reply;
      const sent = fault?.kind === 'bad-checksum' ? corruptDcs(reply) : reply;
      plan.push([responseDelayMs, sent]);
    }
    this.schedule(fault?.kind === 'split' ? split(plan, fault.chunkSize ?? 2, this.opts.chunkDelayMs) : plan);
  }

  /** Response data for one command, 'app-error' for a malformed one, 'silent' when the chip would block. */
  private answer(code: number, p: Buffer): Buffer | 'app-error' | 'silent' {
    switch (code) {
      case Command.GetFirmwareVersion:
        return this.firmwareData();
      case Command.SAMConfiguration:
        return p.length >= 1 && p[0]! >= 1 && p[0]! <= 4 ? Buffer.alloc(0) : 'app-error';
      case Command.RFConfiguration:
        if (p[0] === 0x05 && p.length === 4) this.passiveRetries = p[3]!;
        return p.length >= 2 ? Buffer.alloc(0) : 'app-error';
      case Command.InListPassiveTarget:
        if (p.length < 2 || (p[0] !== 1 && p[0] !== 2)) return 'app-error';
        if (p[1] !== 0x00 || !this.card) return this.passiveRetries === 0xff && p[1] === 0x00 ? 'silent' : Buffer.from([0]);
        this.selected = true;
        return encodeTargetsA([toTarget(this.card, 1)]);
      case Command.InRelease:
        this.selected = false;
        return Buffer.from([0x00]);
      case Command.InDataExchange:
        if (!this.card || !this.selected || p[0] !== 1) return Buffer.from([0x27]); // §7.1: not acceptable in this context
        {
          const r = this.onDataExchange(p.subarray(1));
          return Buffer.isBuffer(r) ? Buffer.concat([Buffer.from([0x00]), r]) : Buffer.concat([Buffer.from([r.status]), r.data]);
        }
      default:
        return 'app-error';
    }
  }

  private noise(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = this.jammed ? this.jammed.next() : 0;
    return out;
  }

  private firmwareData(): Buffer {
    const f = this.firmware;
    return Buffer.from([f.ic, f.ver, f.rev, f.support]);
  }

  private firmwareReply(): Buffer {
    return encodeResponse(Command.GetFirmwareVersion, this.firmwareData());
  }

  /** Sends each chunk `delay` ms after the previous one. */
  private schedule(plan: Array<[number, Buffer]>): void {
    let at = 0;
    for (const [delay, bytes] of plan) {
      at += delay;
      const handle = this.clock.setTimeout(() => {
        this.timers.delete(handle);
        this.output.call(Buffer.from(bytes));
      }, at);
      this.timers.add(handle);
    }
  }
}

function corruptDcs(frame: Buffer): Buffer {
  const bad = Buffer.from(frame);
  bad[bad.length - 2] = (bad[bad.length - 2]! + 1) & 0xff;
  return bad;
}

function split(plan: Array<[number, Buffer]>, size: number, gapMs: number): Array<[number, Buffer]> {
  const out: Array<[number, Buffer]> = [];
  for (const [delay, bytes] of plan) {
    for (let i = 0; i < bytes.length; i += size) out.push([i === 0 ? delay : gapMs, bytes.subarray(i, i + size)]);
  }
  return out;
}
