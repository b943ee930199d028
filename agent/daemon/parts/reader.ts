// One PN532 reader as a supervised part: the serial transport (or, for the simulated site, a PN532
// simulator in memory), the poller, and the faces the controllers hold on to across restarts of the
// poller: a card source and a health source for reader-link.ts. The poller heals itself (reconnects,
// re-initialises, pulses RSTPDN), so a reader that does not answer is 'degraded' and reported; it is never
// restarted from here.
import { EventEmitter } from 'node:events';
import { Pn532Poller, type PollerCounters } from '../../../drivers/pn532/poller.ts';
import type { FirmwareVersion } from '../../../drivers/pn532/commands.ts';
import { openRstpdn, rstpdnPulse } from '../../../drivers/pn532/rstpdn.ts';
import { Pn532Simulator } from '../../../drivers/pn532/simulator.ts';
import { SerialPortTransport } from '../../../drivers/serial/serialport-transport.ts';
import { MemoryTransport } from '../../../drivers/serial/memory-transport.ts';
import type { ByteTransport } from '../../../drivers/serial/transport.ts';
import type { GpioBackend, OutputLine } from '../../../drivers/gpio/types.ts';
import type { ReaderHealthSource, ReaderState } from '../../controllers/reader-link.ts';
import type { CardSource } from '../../controllers/types.ts';
import type { ReaderConfig } from '../config/index.ts';
import type { Logger } from '../log.ts';
import type { Part, PartHealth } from '../supervisor.ts';

export interface ReaderStatus extends ReaderState {
  firmware?: FirmwareVersion;
  counters?: PollerCounters;
}

export interface ReaderPartOptions {
  config: ReaderConfig;
  log: Logger;
  gpio: () => GpioBackend | undefined;
  /** Called on every poller state change, after the health listeners. */
  onStatus?: (id: string, status: ReaderStatus) => void;
}

export class ReaderPart implements Part, ReaderHealthSource {
  readonly name: string;
  readonly deps: readonly string[];
  /** Card events for the controllers; the same emitter across poller restarts. */
  readonly cards: CardSource & EventEmitter = new EventEmitter();
  readonly #health = new EventEmitter();
  readonly #o: ReaderPartOptions;
  #poller: Pn532Poller | undefined;
  #reset: OutputLine | undefined;
  #sim: Pn532Simulator | undefined;

  constructor(opts: ReaderPartOptions) {
    this.#o = opts;
    this.name = `reader:${opts.config.id}`;
    this.deps = opts.config.reset_line === null ? [] : ['gpio'];
  }

  get id(): string { return this.#o.config.id; }
  /** The simulator behind a 'simulated' reader (the simulated site presents cards to it). */
  get simulator(): Pn532Simulator | undefined { return this.#sim; }

  status(): ReaderStatus {
    const s = this.#poller?.status();
    if (!s) return { state: 'disconnected', lastError: { code: 'NOT_STARTED', message: 'reader not started' } };
    return { state: s.state, ...(s.lastError && { lastError: s.lastError }), ...(s.firmware && { firmware: s.firmware }), counters: s.counters };
  }

  on(event: 'status', listener: (status: ReaderState) => void): this {
    this.#health.on(event, listener);
    return this;
  }

  off(event: 'status', listener: (status: ReaderState) => void): this {
    this.#health.off(event, listener);
    return this;
  }

  start(): void {
    const cfg = this.#o.config;
    const log = this.#o.log;
    const poller = new Pn532Poller({
      transport: this.#transport(),
      intervalMs: cfg.poll_ms,
      healthCheckMs: cfg.health_check_ms,
      ...(cfg.reset_line !== null && { resetPulse: this.#resetPulse(cfg.reset_line) }),
      log: (e) => log[e.level]({ reader: cfg.id, ...(e.code && { code: e.code }) }, e.msg),
    });
    poller.on('card', (ev) => this.cards.emit('card', ev));
    poller.on('card-removed', (ev) => this.cards.emit('card-removed', ev));
    poller.on('status', () => {
      const s = this.status();
      this.#health.emit('status', s);
      this.#o.onStatus?.(cfg.id, s);
    });
    this.#poller = poller;
    poller.start();
  }

  async stop(): Promise<void> {
    const p = this.#poller;
    this.#poller = undefined;
    await p?.stop();
    this.#reset?.close();
    this.#reset = undefined;
  }

  health(): PartHealth {
    const s = this.status();
    if (s.state === 'ready') return { state: 'ok' };
    const why = s.lastError ? `${s.state}: ${s.lastError.message}` : s.state === 'starting' ? 'connecting' : s.state;
    return { state: 'degraded', detail: why };
  }

  #transport(): ByteTransport {
    const cfg = this.#o.config;
    if (cfg.transport === 'serial') return new SerialPortTransport({ path: cfg.path, baudRate: cfg.baud });
    this.#sim ??= new Pn532Simulator();
    return new MemoryTransport(this.#sim, `simulated:${cfg.id}`);
  }

  #resetPulse(line: number): () => Promise<void> {
    return async () => {
      const gpio = this.#o.gpio();
      if (!gpio) throw new Error('no GPIO backend for the reset line');
      this.#reset ??= openRstpdn(gpio, { line });
      await rstpdnPulse(this.#reset)();
    };
  }
}
