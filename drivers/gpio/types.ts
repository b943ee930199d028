// The one GPIO interface the agent uses (docs/design-notes.md habit 1). Backends: onoff over sysfs (onoff-backend.ts)
// and an in-memory fake (fake.ts). Both pass the same contract suite (test/drivers/gpio/gpio-contract.ts).
//
// Values are logical: "on" means active. activeLow inverts between the logical value and the electrical
// level in this layer (not through sysfs active_low) so the level a line drives is always explicit and a
// stale active_low attribute left by another process cannot flip a relay.

export type Level = 0 | 1;

/** Logical edges: 'rising' = became active (on), 'falling' = became inactive. */
export type Edge = 'rising' | 'falling' | 'both';

export interface OutputOptions {
  /** Electrical low = logical on. Default false (docs/design-notes.md prefers active-high drivers). */
  activeLow?: boolean;
  /** Logical level driven from the moment the line is opened. Default false (off). */
  initial?: boolean;
  /** Name used in error messages and fake history, e.g. "front.strike". */
  label?: string;
}

export interface InputOptions {
  activeLow?: boolean;
  /** Which logical transitions emit 'change'. Default 'both'. */
  edge?: Edge;
  /**
   * A new level must stay stable this long before it is reported (reed switches and buttons bounce,
   * docs/design-notes.md "Doors and machines"). 0 reports every transition. Default 0.
   */
  debounceMs?: number;
  label?: string;
}

export interface InputChange {
  /** The new logical level. */
  value: boolean;
  /** Clock time (ms) at which the level was accepted. */
  at: number;
}

export interface OutputLine {
  readonly line: number;
  readonly activeLow: boolean;
  /** Drives the logical level synchronously (safe to call from exit handlers). */
  set(on: boolean): void;
  /** The logical level last driven. */
  get(): boolean;
  /**
   * Releases the handle and leaves the pin driving its current level. Outputs are not unexported on close
   * because an unexported pin returns to its power-up pull, which energises an active-low relay
   * (docs/design-notes.md "Power-up and crash behaviour").
   */
  close(): void;
  /** Hands the line back to the kernel. Use only for lines whose power-up pull is safe. */
  unexport(): void;
}

export interface InputLine {
  readonly line: number;
  readonly activeLow: boolean;
  /** Samples the logical level now (not debounced). */
  read(): boolean;
  /** Subscribes to debounced, edge-filtered changes; returns the unsubscribe function. */
  watch(listener: (change: InputChange) => void): () => void;
  /** Stops events and releases the line (inputs are unexported: an input has no level to keep). */
  close(): void;
}

export interface GpioBackend {
  readonly name: string;
  /** Opens a line as output; it drives `initial` (default off) before this returns. */
  openOutput(line: number, opts?: OutputOptions): OutputLine;
  openInput(line: number, opts?: InputOptions): InputLine;
  /** Closes every line still open (outputs keep their level, see OutputLine.close). */
  close(): void;
}

export function toLevel(on: boolean, activeLow: boolean): Level {
  return on !== activeLow ? 1 : 0;
}

export function fromLevel(level: Level, activeLow: boolean): boolean {
  return (level === 1) !== activeLow;
}
