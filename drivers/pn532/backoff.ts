// Exponential backoff for reconnecting to a vanished port and re-initialising a silent reader.

export interface BackoffOptions {
  initialMs?: number;
  maxMs?: number;
  factor?: number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  private readonly factor: number;
  private current: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 250;
    this.maxMs = Math.max(this.initialMs, options.maxMs ?? 30_000);
    this.factor = Math.max(1, options.factor ?? 2);
    this.current = this.initialMs;
  }

  /** The delay to wait now; each call grows the next one up to maxMs. */
  next(): number {
    const delay = this.current;
    this.current = Math.min(this.maxMs, this.current * this.factor);
    return delay;
  }

  reset(): void {
    this.current = this.initialMs;
  }
}
