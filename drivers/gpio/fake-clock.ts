// Manual clock for tests and replays: time moves only when advance() is called, timers fire in deadline
// order (ties in scheduling order), and timers scheduled by a firing timer run in the same advance() when
// they fall due before its end.
import type { Clock, TimerHandle } from './clock.ts';

interface Pending {
  id: number;
  at: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers = new Map<number, Pending>();

  constructor(startMs = Date.UTC(2025, 0, 6, 9, 0, 0)) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = ++this.#seq;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    this.#timers.set(id, { id, at: this.#now + delay, fn });
    return id as unknown as TimerHandle;
  }

  clearTimeout(handle: TimerHandle): void {
    this.#timers.delete(handle as unknown as number);
  }

  /** Number of timers not yet fired or cleared (leak checks). */
  pending(): number {
    return this.#timers.size;
  }

  /** When the next pending timer falls due, or undefined when none is pending (event-driven test loops). */
  nextTimerAt(): number | undefined {
    let at: number | undefined;
    for (const t of this.#timers.values()) if (at === undefined || t.at < at) at = t.at;
    return at;
  }

  /** Moves time forward by ms, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (;;) {
      const next = this.#nextDue(end);
      if (!next) break;
      this.#timers.delete(next.id);
      this.#now = next.at;
      next.fn();
    }
    this.#now = end;
  }

  /** Fires timers due now (zero-delay timers) without moving time. */
  flush(): void {
    this.advance(0);
  }

  #nextDue(end: number): Pending | undefined {
    let best: Pending | undefined;
    for (const t of this.#timers.values()) {
      if (t.at > end) continue;
      if (!best || t.at < best.at || (t.at === best.at && t.id < best.id)) best = t;
    }
    return best;
  }
}
