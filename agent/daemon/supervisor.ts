// Runs the agent's parts (GPIO, ledger, access, readers, controllers, sync, status endpoint) so that one
// failing part is reported and retried with backoff while the rest keep running (docs/design-notes.md habit 6, the
// ESPHome habit of a component that marks itself failed). A part that depends on a failed one is stopped
// and started again once its dependency is back. What a failure means for the outputs is decided by the
// daemon through onChange (daemon.ts), not here.
import { systemClock, type Clock, type TimerHandle } from '../../drivers/gpio/clock.ts';
import type { Logger } from './log.ts';
import { errText } from './log.ts';

/** ok: working. degraded: reported but healing itself (a reader reconnecting). failed: restart me. */
export interface PartHealth {
  state: 'ok' | 'degraded' | 'failed';
  detail?: string;
}

export interface Part {
  readonly name: string;
  /** Parts that must be running before this one starts. */
  readonly deps?: readonly string[];
  /** `report` lets a running part declare itself failed later (a server error, a write that failed). */
  start(report: (err: unknown) => void): Promise<void> | void;
  stop(): Promise<void> | void;
  health(): PartHealth;
}

export type PartState = 'idle' | 'waiting' | 'starting' | 'ok' | 'degraded' | 'failed' | 'stopped';

export interface PartStatus {
  name: string;
  state: PartState;
  detail?: string;
  /** Restarts after a failure since the agent started. */
  restarts: number;
  /** When the part entered its current state (ISO 8601). */
  since: string;
  last_error?: string;
}

export interface SupervisorOptions {
  parts: Part[];
  log: Logger;
  clock?: Clock;
  /** How often running parts are asked for their health. Default 1000 ms. */
  checkMs?: number;
  /** Retry delays after a failure: initial, doubling up to max. Default 1 s .. 60 s. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** A part running this long without failing starts its backoff again from the initial delay. */
  stableMs?: number;
  onChange?: (status: PartStatus, previous: PartState) => void;
}

interface Slot {
  part: Part;
  state: PartState;
  detail: string | undefined;
  lastError: string | undefined;
  since: number;
  restarts: number;
  delay: number;
  retry: TimerHandle | undefined;
  /** Operations on one part run one after another. */
  queue: Promise<void>;
  /** Bumped on every stop so a late report from an old run is ignored. */
  generation: number;
}

const RUNNING: readonly PartState[] = ['ok', 'degraded'];

export class Supervisor {
  readonly #o: Required<Omit<SupervisorOptions, 'onChange' | 'parts' | 'log'>> & { log: Logger };
  readonly #onChange: SupervisorOptions['onChange'];
  readonly #slots: Slot[];
  #checkTimer: TimerHandle | undefined;
  #stopping = false;

  constructor(opts: SupervisorOptions) {
    this.#o = {
      log: opts.log,
      clock: opts.clock ?? systemClock,
      checkMs: opts.checkMs ?? 1_000,
      retryInitialMs: opts.retryInitialMs ?? 1_000,
      retryMaxMs: opts.retryMaxMs ?? 60_000,
      stableMs: opts.stableMs ?? 30_000,
    };
    this.#onChange = opts.onChange;
    const names = new Set<string>();
    for (const p of opts.parts) {
      for (const d of p.deps ?? []) {
        if (!names.has(d)) throw new Error(`part '${p.name}' depends on '${d}', which is not listed before it`);
      }
      names.add(p.name);
    }
    const now = this.#o.clock.now();
    this.#slots = opts.parts.map((part) => ({
      part, state: 'idle', detail: undefined, lastError: undefined, since: now, restarts: 0,
      delay: this.#o.retryInitialMs, retry: undefined, queue: Promise.resolve(), generation: 0,
    }));
  }

  /** Starts every part in order; resolves once each has had its first attempt (failed ones retry later). */
  async start(): Promise<void> {
    for (const s of this.#slots) await this.#run(s, () => this.#attempt(s));
    this.#scheduleCheck();
  }

  /** Stops every part, last started first. Failures to stop are logged; the others still stop. */
  async stopAll(): Promise<void> {
    this.#stopping = true;
    if (this.#checkTimer !== undefined) this.#o.clock.clearTimeout(this.#checkTimer);
    for (const s of [...this.#slots].reverse()) {
      if (s.retry !== undefined) this.#o.clock.clearTimeout(s.retry);
      s.retry = undefined;
      await this.#run(s, async () => {
        // failed and waiting parts were stopped when they got there
        if (RUNNING.includes(s.state) || s.state === 'starting') await this.#stopPart(s);
        this.#set(s, 'stopped', undefined);
      });
    }
  }

  /** Declares a running part failed (the `report` given to start() calls this). */
  fail(name: string, err: unknown): void {
    const s = this.#slot(name);
    const generation = s.generation;
    void this.#run(s, async () => {
      if (generation !== s.generation || !RUNNING.includes(s.state)) return;
      await this.#failed(s, err);
    });
  }

  status(): PartStatus[] {
    return this.#slots.map((s) => this.#statusOf(s));
  }

  state(name: string): PartState {
    return this.#slot(name).state;
  }

  isRunning(name: string): boolean {
    return RUNNING.includes(this.#slot(name).state);
  }

  #slot(name: string): Slot {
    const s = this.#slots.find((x) => x.part.name === name);
    if (!s) throw new Error(`no part named '${name}'`);
    return s;
  }

  #run(s: Slot, fn: () => Promise<void>): Promise<void> {
    const next = s.queue.then(fn, fn);
    s.queue = next.catch((err: unknown) => {
      this.#o.log.error({ part: s.part.name, err }, 'supervisor step failed');
    });
    return s.queue;
  }

  async #attempt(s: Slot): Promise<void> {
    if (this.#stopping || RUNNING.includes(s.state)) return;
    const missing = (s.part.deps ?? []).filter((d) => !this.isRunning(d));
    if (missing.length > 0) {
      this.#set(s, 'waiting', `waiting for ${missing.join(', ')}`);
      return;
    }
    this.#set(s, 'starting', undefined);
    const generation = s.generation;
    try {
      await s.part.start((err) => { if (generation === s.generation) this.fail(s.part.name, err); });
    } catch (err) {
      await this.#failed(s, err);
      return;
    }
    // Stopped while starting (its dependency failed, or the agent is stopping): that stop stands.
    if (this.#stopping || generation !== s.generation) return;
    const h = this.#health(s);
    if (h.state === 'failed') {
      await this.#failed(s, new Error(h.detail ?? 'unhealthy after start'));
      return;
    }
    this.#set(s, h.state, h.detail);
    this.#startDependents(s);
  }

  async #failed(s: Slot, err: unknown): Promise<void> {
    const message = errText(err);
    s.lastError = message;
    this.#o.log.error({ part: s.part.name, err, retry_ms: s.delay }, `${s.part.name} failed: ${message}`);
    // Announced before anything is awaited: the daemon drives outputs safe on this change.
    this.#set(s, 'failed', message);
    await this.#stopDependents(s);
    await this.#stopPart(s);
    if (this.#stopping) return;
    const delay = s.delay;
    s.delay = Math.min(this.#o.retryMaxMs, s.delay * 2);
    s.retry = this.#o.clock.setTimeout(() => {
      s.retry = undefined;
      s.restarts += 1;
      void this.#run(s, () => this.#attempt(s));
    }, delay);
  }

  async #stopPart(s: Slot): Promise<void> {
    s.generation += 1;
    try {
      await s.part.stop();
    } catch (err) {
      this.#o.log.warn({ part: s.part.name, err }, `${s.part.name} did not stop cleanly: ${errText(err)}`);
    }
  }

  async #stopDependents(s: Slot): Promise<void> {
    for (const d of [...this.#slots].reverse()) {
      if (!(d.part.deps ?? []).includes(s.part.name)) continue;
      if (d.retry !== undefined) this.#o.clock.clearTimeout(d.retry);
      d.retry = undefined;
      // Not through d's queue: this runs inside s's queue, and d's queue may be waiting on s.
      await this.#stopDependents(d);
      if (d.state !== 'idle' && d.state !== 'stopped' && d.state !== 'waiting') await this.#stopPart(d);
      this.#set(d, 'waiting', `waiting for ${s.part.name}`);
    }
  }

  #startDependents(s: Slot): void {
    for (const d of this.#slots) {
      if (d.state === 'waiting' && (d.part.deps ?? []).includes(s.part.name)) void this.#run(d, () => this.#attempt(d));
    }
  }

  #health(s: Slot): PartHealth {
    try {
      return s.part.health();
    } catch (err) {
      return { state: 'failed', detail: `health check threw: ${errText(err)}` };
    }
  }

  #scheduleCheck(): void {
    if (this.#stopping) return;
    this.#checkTimer = this.#o.clock.setTimeout(() => {
      this.#checkTimer = undefined;
      this.#check();
      this.#scheduleCheck();
    }, this.#o.checkMs);
  }

  /** Re-reads every running part's health now (a part's own event, rather than the next periodic check). */
  check(): void {
    if (!this.#stopping) this.#check();
  }

  #check(): void {
    const now = this.#o.clock.now();
    for (const s of this.#slots) {
      if (!RUNNING.includes(s.state)) continue;
      const h = this.#health(s);
      if (h.state === 'failed') {
        this.fail(s.part.name, new Error(h.detail ?? 'health check failed'));
        continue;
      }
      if (h.state === 'ok' && now - s.since >= this.#o.stableMs) s.delay = this.#o.retryInitialMs;
      if (h.state !== s.state || h.detail !== s.detail) this.#set(s, h.state, h.detail);
    }
  }

  #set(s: Slot, state: PartState, detail: string | undefined): void {
    const previous = s.state;
    if (previous === state && s.detail === detail) return;
    if (previous !== state) s.since = this.#o.clock.now();
    s.state = state;
    s.detail = detail;
    if (previous !== state) {
      // Failures are logged where they happen (#failed); a part still coming up is not news.
      const level = state === 'failed' ? 'debug' : (state === 'degraded' || state === 'waiting') && previous !== 'starting' && previous !== 'idle' ? 'warn' : 'info';
      this.#o.log[level]({ part: s.part.name, state, previous, detail }, `${s.part.name}: ${state}${detail ? ` (${detail})` : ''}`);
    }
    this.#onChange?.(this.#statusOf(s), previous);
  }

  #statusOf(s: Slot): PartStatus {
    return {
      name: s.part.name,
      state: s.state,
      ...(s.detail !== undefined && { detail: s.detail }),
      restarts: s.restarts,
      since: new Date(s.since).toISOString(),
      ...(s.lastError !== undefined && { last_error: s.lastError }),
    };
  }
}
