// Keeps a PN532 reader working unattended: opens the port (reconnecting with backoff when a USB
// adapter vanishes), initialises the chip, polls for cards, health-checks it, re-initialises after
// errors or silence and, as a last resort, pulses RSTPDN through an injected function. A failed
// reader degrades: the poller reports the fault in status() and keeps retrying (docs/design-notes.md habit 6).
import type { ByteTransport } from '../serial/transport.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { CardPresence, type CardEvent, type CardRemovedEvent, type PresenceChange } from './card-presence.ts';
import { Sleeper, systemClock, type Clock } from './clock.ts';
import type { FirmwareVersion } from './commands.ts';
import { Pn532Error, toPn532Error, type Pn532ErrorCode } from './errors.ts';
import { Pn532, type Pn532LogEntry, type Pn532Options } from './pn532.ts';
import { TypedEmitter } from './typed-emitter.ts';

export type { CardEvent, CardRemovedEvent } from './card-presence.ts';

export type PollerState = 'starting' | 'ready' | 'fault' | 'disconnected';

export interface PollerFault {
  code: Pn532ErrorCode;
  message: string;
}

/** Running totals since the poller was made: what a status page shows to tell a flaky reader from a dead one. */
export interface PollerCounters {
  /** InListPassiveTarget polls sent, and those that failed. */
  polls: number;
  pollErrors: number;
  /** Successful and failed initialisations (wake-up, SAMConfiguration, firmware, MaxRetries). */
  inits: number;
  initFailures: number;
  /** Port opens that worked and that failed (the adapter was missing). */
  opens: number;
  openFailures: number;
  resetPulses: number;
  /** Card presentations reported. */
  cards: number;
  ackTimeouts: number;
  responseTimeouts: number;
  /** Frames that failed LCS/DCS, and replies to an older command that were dropped. */
  badFrames: number;
  staleFrames: number;
  /** Non-zero bytes outside any frame: line noise, a wrong baud rate (padding zeros are not counted). */
  garbageBytes: number;
}

export interface PollerStatus {
  state: PollerState;
  /** Clock time (ms) of the last state change. */
  since: number;
  lastError?: PollerFault;
  firmware?: FirmwareVersion;
  counters: PollerCounters;
}

type Counters = Pick<PollerCounters, 'polls' | 'pollErrors' | 'inits' | 'initFailures' | 'opens' | 'openFailures' | 'resetPulses' | 'cards'>;

export interface PollerEvents {
  card: CardEvent;
  'card-removed': CardRemovedEvent;
  fault: PollerFault;
  healthy: { firmware: FirmwareVersion };
  status: PollerStatus;
}

/** Log entries never carry a UID: badge ids are secrets. */
export type PollerLogEntry = Pn532LogEntry;

export interface PollerOptions {
  transport: ByteTransport;
  /** Pause between polls (docs/design-notes.md: 100-250 ms). */
  intervalMs?: number;
  /** Empty polls in a row before 'card-removed'. */
  removalPolls?: number;
  /** GetFirmwareVersion this often while no card is present. */
  healthCheckMs?: number;
  /** Failed polls in a row before re-initialising. */
  maxConsecutiveErrors?: number;
  /** Re-initialise when no command succeeded for this long. */
  silenceMs?: number;
  /** Delays between reconnect / re-init attempts. */
  backoff?: BackoffOptions;
  /** Pulses RSTPDN (a GPIO); called after every `resetAfterFailures` failed initialisations. */
  resetPulse?: () => Promise<void>;
  resetAfterFailures?: number;
  /** Timeouts and retries of the protocol core. */
  pn532?: Omit<Pn532Options, 'transport' | 'clock' | 'log'>;
  clock?: Clock;
  log?: (entry: PollerLogEntry) => void;
}

export class Pn532Poller extends TypedEmitter<PollerEvents> {
  readonly pn532: Pn532;
  private readonly transport: ByteTransport;
  private readonly clock: Clock;
  private readonly log: (entry: PollerLogEntry) => void;
  private readonly intervalMs: number;
  private readonly healthCheckMs: number;
  private readonly maxConsecutiveErrors: number;
  private readonly silenceMs: number;
  private readonly resetPulse: (() => Promise<void>) | undefined;
  private readonly resetAfterFailures: number;
  private readonly backoff: Backoff;
  private readonly sleeper: Sleeper;
  private readonly presence: CardPresence;
  private current: { state: PollerState; since: number; lastError?: PollerFault; firmware?: FirmwareVersion };
  private readonly counters: Counters = {
    polls: 0, pollErrors: 0, inits: 0, initFailures: 0, opens: 0, openFailures: 0, resetPulses: 0, cards: 0,
  };
  private running: Promise<void> | undefined;
  private stopping = false;
  private initialised = false;
  private failedInits = 0;
  private consecutiveErrors = 0;
  private needHealthCheck = false;
  private lastOkAt = 0;
  private lastHealthAt = 0;

  constructor(options: PollerOptions) {
    super((event, err) => options.log?.({ level: 'warn', msg: `a '${event}' listener threw: ${describe(err)}` }));
    this.transport = options.transport;
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
    this.intervalMs = options.intervalMs ?? 150;
    this.healthCheckMs = options.healthCheckMs ?? 5_000;
    this.maxConsecutiveErrors = Math.max(1, options.maxConsecutiveErrors ?? 3);
    this.silenceMs = options.silenceMs ?? 5_000;
    this.resetPulse = options.resetPulse;
    this.resetAfterFailures = Math.max(1, options.resetAfterFailures ?? 3);
    this.backoff = new Backoff(options.backoff);
    this.sleeper = new Sleeper(this.clock);
    this.presence = new CardPresence(options.removalPolls ?? 2);
    this.pn532 = new Pn532({ ...options.pn532, transport: this.transport, clock: this.clock, log: this.log });
    this.current = { state: 'starting', since: this.clock.now() };
    this.transport.onClose((err) => this.onTransportClosed(err));
  }

  /** A JSON-ready snapshot for the node's status (never carries a UID). */
  status(): PollerStatus {
    const p = this.pn532.stats;
    const s: PollerStatus = {
      state: this.current.state,
      since: this.current.since,
      counters: {
        ...this.counters,
        ackTimeouts: p.ackTimeouts,
        responseTimeouts: p.responseTimeouts,
        badFrames: p.badFrames,
        staleFrames: p.staleFrames,
        garbageBytes: this.pn532.parserStats.garbageBytes,
      },
    };
    if (this.current.lastError) s.lastError = { ...this.current.lastError };
    if (this.current.firmware) s.firmware = { ...this.current.firmware };
    return s;
  }

  start(): void {
    if (this.running) return;
    this.stopping = false;
    this.running = this.loop();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.sleeper.interrupt();
    await this.running;
    this.running = undefined;
    await this.transport.close().catch(() => undefined);
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let delay: number;
      try {
        delay = await this.step();
      } catch (err) {
        this.log({ level: 'warn', msg: `poller step failed: ${describe(err)}` });
        delay = this.backoff.next();
      }
      if (this.stopping) break;
      await this.sleeper.sleep(delay);
    }
  }

  private step(): Promise<number> {
    if (!this.transport.isOpen) return this.connect();
    if (!this.initialised) return this.initialise();
    return this.poll();
  }

  private async connect(): Promise<number> {
    try {
      await this.transport.open();
      this.counters.opens++;
      this.log({ level: 'info', msg: 'serial port open' });
      if (this.current.state === 'disconnected') this.setState({ ...this.current, state: 'starting' });
      return 0;
    } catch (err) {
      this.counters.openFailures++;
      this.setFault('disconnected', toPn532Error(err, 'PN532_PORT'));
      return this.backoff.next();
    }
  }

  private async initialise(): Promise<number> {
    try {
      const firmware = await this.pn532.init();
      const now = this.clock.now();
      this.initialised = true;
      this.counters.inits++;
      this.failedInits = 0;
      this.consecutiveErrors = 0;
      this.needHealthCheck = false;
      this.lastOkAt = now;
      this.lastHealthAt = now;
      this.backoff.reset();
      this.log({ level: 'info', msg: `PN532 ready, firmware ${firmware.ver}.${firmware.rev}` });
      this.setState({ ...this.current, state: 'ready', firmware });
      this.emit('healthy', { firmware: { ...firmware } });
      return 0;
    } catch (err) {
      if (!this.transport.isOpen) return this.backoff.next();
      this.failedInits++;
      this.counters.initFailures++;
      this.setFault('fault', toPn532Error(err, 'PN532_TIMEOUT'));
      if (this.resetPulse && this.failedInits % this.resetAfterFailures === 0) await this.pulse();
      return this.backoff.next();
    }
  }

  private async poll(): Promise<number> {
    try {
      const idle = !this.presence.present && this.clock.now() - this.lastHealthAt >= this.healthCheckMs;
      if (this.needHealthCheck || idle) {
        const firmware = await this.pn532.getFirmwareVersion();
        this.lastHealthAt = this.clock.now();
        this.needHealthCheck = false;
        this.current.firmware = firmware;
        this.emit('healthy', { firmware: { ...firmware } });
      }
      this.counters.polls++;
      const targets = await this.pn532.inListPassiveTarget(1);
      this.succeeded();
      this.apply(this.presence.observe(targets[0]));
      // Release so the next poll re-detects the card instead of finding it still selected (§7.3.11).
      if (targets.length > 0) await this.pn532.inRelease(0);
      return this.intervalMs;
    } catch (err) {
      return this.pollFailed(toPn532Error(err, 'PN532_TIMEOUT'));
    }
  }

  private succeeded(): void {
    this.consecutiveErrors = 0;
    this.lastOkAt = this.clock.now();
    if (this.current.state !== 'ready') this.setState({ ...this.current, state: 'ready' });
  }

  private pollFailed(err: Pn532Error): number {
    this.counters.pollErrors++;
    if (!this.transport.isOpen) return this.backoff.next();
    this.consecutiveErrors++;
    this.needHealthCheck = true;
    this.current.lastError = { code: err.code, message: err.message };
    this.log({ level: 'warn', msg: `poll failed (${this.consecutiveErrors} in a row): ${err.message}`, code: err.code });
    const silent = this.clock.now() - this.lastOkAt >= this.silenceMs;
    if (this.consecutiveErrors >= this.maxConsecutiveErrors || silent) {
      this.initialised = false;
      this.apply(this.presence.fault());
      this.setFault('fault', err);
    }
    return this.intervalMs;
  }

  private onTransportClosed(err: Error | undefined): void {
    if (this.stopping) return;
    this.initialised = false;
    this.apply(this.presence.fault());
    const reason = err?.message ?? 'closed';
    this.setFault('disconnected', new Pn532Error('PN532_DISCONNECTED', `serial port closed: ${reason}`));
  }

  private async pulse(): Promise<void> {
    try {
      this.log({ level: 'warn', msg: `pulsing RSTPDN after ${this.failedInits} failed initialisations` });
      this.counters.resetPulses++;
      await this.resetPulse?.();
    } catch (err) {
      this.log({ level: 'warn', msg: `reset pulse failed: ${describe(err)}` });
    }
  }

  private apply(changes: PresenceChange[]): void {
    for (const change of changes) {
      if (change.type === 'card') {
        this.counters.cards++;
        this.emit('card', change.event);
      }
      else this.emit('card-removed', change.event);
    }
  }

  private setFault(state: 'fault' | 'disconnected', err: Pn532Error): void {
    const fault: PollerFault = { code: err.code, message: err.message };
    const changed = this.current.state !== state || this.current.lastError?.code !== fault.code;
    this.log({ level: 'warn', msg: err.message, code: err.code });
    this.current.lastError = fault;
    if (!changed) return;
    this.emit('fault', { ...fault });
    this.setState({ ...this.current, state });
  }

  private setState(next: { state: PollerState; lastError?: PollerFault; firmware?: FirmwareVersion }): void {
    const changed = next.state !== this.current.state;
    const lastError = next.lastError ?? this.current.lastError;
    this.current = { ...next, since: changed ? this.clock.now() : this.current.since };
    if (lastError) this.current.lastError = lastError;
    if (changed) this.emit('status', this.status());
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
