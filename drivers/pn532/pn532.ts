// The PN532 protocol core: one class, transport-agnostic (docs/design-notes.md habit 1). It serialises commands,
// runs the host dialog of UM0701-02 §6.2.2 (command -> ACK -> response), drops stale replies and
// recovers from lost or corrupted frames. The transport only moves bytes.
import type { ByteTransport } from '../serial/transport.ts';
import { systemClock, type Clock } from './clock.ts';
import {
  Command, commandName, decodeFirmwareVersion, decodeStatus, decodeTargetsA, hex2, inListPassiveTargetParams,
  maxRetriesParams, SAM_NORMAL_MODE, WAKE_UP_SEQUENCE, type FirmwareVersion, type TargetA,
} from './commands.ts';
import { Pn532Error, statusName, toPn532Error } from './errors.ts';
import { ACK_FRAME, encodeCommand, NACK_FRAME, TFI_PN532_TO_HOST } from './frame.ts';
import { FrameParser, type FrameParserStats, type ParsedFrame } from './frame-parser.ts';

export interface Pn532LogEntry {
  level: 'debug' | 'info' | 'warn';
  msg: string;
  code?: string;
}

export interface Pn532Options {
  transport: ByteTransport;
  /** The PN532 ACKs within 15 ms (§6.2.2); the default leaves room for USB adapters and busy hosts. */
  ackTimeoutMs?: number;
  /** Wait for the response after the ACK. */
  responseTimeoutMs?: number;
  /** Sends of one command frame when the ACK is missing or a NACK comes back. */
  sendAttempts?: number;
  /** NACKs the host sends to ask for a response that failed its checksum (§6.2.1.4). */
  nackRetries?: number;
  /** SAMConfiguration attempts after wake-up: the first one often times out. */
  samAttempts?: number;
  /**
   * Quiet time between the last byte received and the next frame sent. Some USB-UART adapters lose a frame
   * sent right behind a reply (docs/design-notes.md, known failure modes); 0 (default) sends at once, as the PN532's
   * own UART allows. A few ms is plenty for the adapters that need it.
   */
  frameGapMs?: number;
  /** RFConfiguration MaxRetries (§7.3.1); passiveActivation 0xFF would make InListPassiveTarget block. */
  maxRetries?: { atr?: number; psl?: number; passiveActivation?: number };
  clock?: Clock;
  log?: (entry: Pn532LogEntry) => void;
}

export interface Pn532Stats {
  commands: number;
  ackTimeouts: number;
  responseTimeouts: number;
  staleFrames: number;
  badFrames: number;
  nacksSent: number;
}

export interface DataExchangeResult {
  data: Buffer;
  /** Status bit 6 (MI): the target has more data, chain another InDataExchange. */
  moreInformation: boolean;
}

export class Pn532 {
  readonly stats: Pn532Stats = { commands: 0, ackTimeouts: 0, responseTimeouts: 0, staleFrames: 0, badFrames: 0, nacksSent: 0 };
  private readonly transport: ByteTransport;
  private readonly clock: Clock;
  private readonly log: (entry: Pn532LogEntry) => void;
  private readonly ackTimeoutMs: number;
  private readonly responseTimeoutMs: number;
  private readonly sendAttempts: number;
  private readonly nackRetries: number;
  private readonly samAttempts: number;
  private readonly frameGapMs: number;
  private readonly maxRetries: Buffer;
  private lastRxAt = Number.NEGATIVE_INFINITY;
  private readonly parser: FrameParser;
  private inbox: ParsedFrame[] = [];
  private wakeWaiter: (() => void) | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(options: Pn532Options) {
    this.transport = options.transport;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
    this.ackTimeoutMs = options.ackTimeoutMs ?? 50;
    this.responseTimeoutMs = options.responseTimeoutMs ?? 1000;
    this.sendAttempts = Math.max(1, options.sendAttempts ?? 3);
    this.nackRetries = options.nackRetries ?? 2;
    this.samAttempts = Math.max(1, options.samAttempts ?? 3);
    this.frameGapMs = Math.max(0, options.frameGapMs ?? 0);
    const r = options.maxRetries ?? {};
    this.maxRetries = maxRetriesParams(r.atr ?? 0xff, r.psl ?? 0x01, r.passiveActivation ?? 0x01);
    this.parser = new FrameParser((frame) => {
      this.inbox.push(frame);
      this.wakeWaiter?.();
    });
    this.transport.onData((chunk) => {
      this.lastRxAt = this.clock.now();
      this.parser.push(chunk);
    });
    this.transport.onClose(() => this.wakeWaiter?.());
  }

  /** Frame parser totals: bytes skipped as garbage, frames that failed their checksums. */
  get parserStats(): Readonly<FrameParserStats> {
    return this.parser.stats;
  }

  /** Wake-up, SAMConfiguration, firmware check and MaxRetries: everything needed before polling. */
  async init(): Promise<FirmwareVersion> {
    await this.wakeUp();
    await this.samConfiguration();
    const firmware = await this.getFirmwareVersion();
    await this.command(Command.RFConfiguration, this.maxRetries);
    return firmware;
  }

  /** HSU wake-up from LowVbat / power-down: 55 55 and zeros; SAMConfiguration must follow. */
  wakeUp(): Promise<void> {
    return this.serialise(() => this.write(WAKE_UP_SEQUENCE));
  }

  /** SAMConfiguration normal mode (§7.2.10), retried because the first one after wake-up is often lost. */
  async samConfiguration(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.command(Command.SAMConfiguration, SAM_NORMAL_MODE);
        return;
      } catch (err) {
        const retryable = err instanceof Pn532Error && (err.code === 'PN532_TIMEOUT' || err.code === 'PN532_BAD_FRAME');
        if (!retryable || attempt >= this.samAttempts) throw err;
        this.log({ level: 'debug', msg: `SAMConfiguration attempt ${attempt} failed, retrying`, code: err.code });
      }
    }
  }

  async getFirmwareVersion(): Promise<FirmwareVersion> {
    return decodeFirmwareVersion(await this.command(Command.GetFirmwareVersion));
  }

  /** Polls for ISO/IEC 14443A cards at 106 kbps (§7.3.5); [] when none answered within MaxRetries. */
  async inListPassiveTarget(maxTargets: 1 | 2 = 1): Promise<TargetA[]> {
    return decodeTargetsA(await this.command(Command.InListPassiveTarget, inListPassiveTargetParams(maxTargets)));
  }

  /** Releases target `tg`, 0 for all (§7.3.11). */
  async inRelease(tg = 0): Promise<void> {
    const data = await this.command(Command.InRelease, Buffer.from([tg]));
    checkStatus('InRelease', data);
  }

  /** Sends `data` to target `tg` and returns its answer (§7.3.8). */
  async inDataExchange(tg: number, data: Buffer): Promise<DataExchangeResult> {
    const reply = await this.command(Command.InDataExchange, Buffer.concat([Buffer.from([tg]), data]));
    const status = checkStatus('InDataExchange', reply);
    return { data: reply.subarray(1), moreInformation: status.moreInformation };
  }

  /** Runs one command and returns the response data after the response code. */
  command(code: number, params: Buffer = Buffer.alloc(0), timeoutMs = this.responseTimeoutMs): Promise<Buffer> {
    return this.serialise(() => this.exchange(code, params, timeoutMs));
  }

  private serialise<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(task, task);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async exchange(code: number, params: Buffer, timeoutMs: number): Promise<Buffer> {
    const name = commandName(code);
    const frame = encodeCommand(code, params);
    this.stats.commands++;
    let nacks = 0;
    for (let attempt = 1; attempt <= this.sendAttempts; attempt++) {
      // Bytes received before this command was sent cannot answer it: drop them.
      await this.quietGap();
      this.inbox = [];
      this.parser.reset();
      await this.write(frame);
      const ack = await this.awaitAck(name);
      if (ack === 'ack') return this.awaitResponse(code, name, timeoutMs);
      if (ack === 'nack') nacks++;
      else this.stats.ackTimeouts++;
      this.log({ level: 'debug', msg: `${name}: ${ack === 'nack' ? 'NACK' : 'no ACK'} on attempt ${attempt}` });
    }
    if (nacks === this.sendAttempts) {
      throw new Pn532Error('PN532_NACK', `${name}: the PN532 answered NACK to all ${nacks} sends, expected ACK 00 00 FF 00 FF 00`);
    }
    throw new Pn532Error('PN532_TIMEOUT', `${name}: no ACK within ${this.ackTimeoutMs} ms after ${this.sendAttempts} sends`);
  }

  /** ACK phase (§6.2.2). Information frames seen here precede our ACK, so they answer an older command. */
  private async awaitAck(name: string): Promise<'ack' | 'nack' | 'timeout'> {
    const deadline = this.clock.now() + this.ackTimeoutMs;
    for (;;) {
      const frame = await this.nextFrame(deadline);
      if (!frame) return 'timeout';
      switch (frame.kind) {
        case 'ack':
        case 'nack':
          return frame.kind;
        case 'app-error':
          throw appError(name);
        case 'data':
          this.discardStale(frame.body, name);
          break;
        case 'invalid':
          this.stats.badFrames++;
          break;
      }
    }
  }

  private async awaitResponse(code: number, name: string, timeoutMs: number): Promise<Buffer> {
    const deadline = this.clock.now() + timeoutMs;
    const expected = (code + 1) & 0xff;
    let badFrames = 0;
    let nacksSent = 0;
    for (;;) {
      const frame = await this.nextFrame(deadline);
      if (!frame) break;
      switch (frame.kind) {
        case 'data':
          if (frame.tfi === TFI_PN532_TO_HOST && frame.body[0] === expected) return frame.body.subarray(1);
          this.discardStale(frame.body, name);
          break;
        case 'app-error':
          throw appError(name);
        case 'invalid':
          this.stats.badFrames++;
          badFrames++;
          // A DCS failure means a real frame got corrupted: NACK asks the PN532 to send it again (§6.2.1.4).
          if (frame.reason === 'dcs' && nacksSent < this.nackRetries) {
            nacksSent++;
            this.stats.nacksSent++;
            await this.quietGap();
            await this.write(NACK_FRAME);
          }
          break;
        case 'ack':
        case 'nack':
          break;
      }
    }
    this.stats.responseTimeouts++;
    // A host ACK aborts the command still running in the PN532 (§6.2.1.3), so its late reply cannot
    // be mistaken for the answer to the next command.
    await this.write(ACK_FRAME).catch(() => undefined);
    if (badFrames > 0) {
      throw new Pn532Error('PN532_BAD_FRAME', `${name}: ${badFrames} reply frame(s) failed their checksum, ${nacksSent} resend request(s) did not help within ${timeoutMs} ms`);
    }
    throw new Pn532Error('PN532_TIMEOUT', `${name}: ACK received but no response (code 0x${hex2(expected)}) within ${timeoutMs} ms`);
  }

  private discardStale(body: Buffer, name: string): void {
    this.stats.staleFrames++;
    const code = body[0] === undefined ? 'empty' : `0x${hex2(body[0])}`;
    this.log({ level: 'debug', msg: `${name}: discarded stale frame with response code ${code}` });
  }

  /** Next parsed frame, or undefined at the deadline; throws once the transport has closed. */
  private async nextFrame(deadline: number): Promise<ParsedFrame | undefined> {
    for (;;) {
      if (!this.transport.isOpen) throw new Pn532Error('PN532_DISCONNECTED', 'serial port closed while waiting for the PN532');
      const frame = this.inbox.shift();
      if (frame) return frame;
      const remaining = deadline - this.clock.now();
      if (remaining <= 0) {
        // A stalled event loop can fire the timer before already-received bytes are read: look once more.
        await new Promise<void>((resolve) => setImmediate(resolve));
        return this.inbox.shift();
      }
      await new Promise<void>((resolve) => {
        const handle = this.clock.setTimeout(() => done(), remaining);
        const done = (): void => {
          this.clock.clearTimeout(handle);
          this.wakeWaiter = undefined;
          resolve();
        };
        this.wakeWaiter = done;
      });
    }
  }

  /** Waits until frameGapMs have passed since the last byte came in. */
  private async quietGap(): Promise<void> {
    const wait = this.lastRxAt + this.frameGapMs - this.clock.now();
    if (this.frameGapMs > 0 && wait > 0) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, wait));
  }

  private async write(bytes: Buffer): Promise<void> {
    if (!this.transport.isOpen) throw new Pn532Error('PN532_DISCONNECTED', 'serial port is not open');
    try {
      await this.transport.write(bytes);
    } catch (err) {
      throw toPn532Error(err, this.transport.isOpen ? 'PN532_PORT' : 'PN532_DISCONNECTED');
    }
  }
}

function appError(name: string): Pn532Error {
  return new Pn532Error('PN532_APP_ERROR', `${name}: the PN532 answered the application error frame (syntax error in the command, §6.2.1.5)`);
}

/** Checks the status byte that opens InDataExchange / InRelease replies (§7.1). */
function checkStatus(name: string, data: Buffer): ReturnType<typeof decodeStatus> {
  if (data.length < 1) throw new Pn532Error('PN532_BAD_FRAME', `${name}: reply has no status byte`);
  const status = decodeStatus(data[0]!);
  if (status.error !== 0) {
    throw new Pn532Error('PN532_STATUS', `${name}: status 0x${hex2(status.error)} (${statusName(status.error)})`, { status: status.error });
  }
  return status;
}
