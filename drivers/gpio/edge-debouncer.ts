// Turns raw electrical transitions into debounced, edge-filtered logical changes. Shared by every backend so
// the fake and onoff report exactly the same events for the same input (the contract suite checks it).
// Debounce here rather than onoff's lodash.debounce so it runs on the injected clock.
import type { Clock, TimerHandle } from './clock.ts';
import type { Edge, InputChange } from './types.ts';

export class EdgeDebouncer {
  readonly #clock: Clock;
  readonly #debounceMs: number;
  readonly #edge: Edge;
  #stable: boolean;
  #latest: boolean;
  #timer: TimerHandle | undefined;
  #listeners = new Set<(change: InputChange) => void>();
  #closed = false;

  constructor(clock: Clock, initial: boolean, debounceMs: number, edge: Edge) {
    this.#clock = clock;
    this.#debounceMs = debounceMs;
    this.#edge = edge;
    this.#stable = initial;
    this.#latest = initial;
  }

  watch(listener: (change: InputChange) => void): () => void {
    this.#listeners.add(listener);
    return () => { this.#listeners.delete(listener); };
  }

  /** Feeds the logical level seen at an interrupt (or a fake drive). */
  feed(value: boolean): void {
    if (this.#closed) return;
    this.#latest = value;
    if (this.#debounceMs <= 0) {
      this.#settle();
      return;
    }
    // Every transition restarts the quiet period: only a level that holds for debounceMs counts.
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#settle();
    }, this.#debounceMs);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  #settle(): void {
    if (this.#latest === this.#stable) return; // a bounce that came back: nothing happened
    this.#stable = this.#latest;
    const wanted = this.#edge === 'both' || (this.#edge === 'rising') === this.#stable;
    if (!wanted) return;
    const change: InputChange = { value: this.#stable, at: this.#clock.now() };
    for (const l of [...this.#listeners]) l(change);
  }
}
