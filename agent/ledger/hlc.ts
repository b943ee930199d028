// Hybrid logical clock (docs/design-notes.md lesson 5): wall-clock milliseconds plus a counter, so that
// a child is always dated after its parents even when the local clock runs behind.
export interface Hlc { ms: number; c: number }

export const HLC_MAX_MS = 2 ** 48 - 1;
export const HLC_MAX_C = 0xffff;

export function compareHlc(a: Hlc, b: Hlc): number {
  return a.ms !== b.ms ? a.ms - b.ms : a.c - b.c;
}

export function maxHlc(a: Hlc, b: Hlc): Hlc {
  return compareHlc(a, b) >= 0 ? a : b;
}

/** The clock value for a new local event: after everything seen, at or after wall time. */
export function nextHlc(now: number, seen: Hlc): Hlc {
  if (now > seen.ms) return { ms: now, c: 0 };
  if (seen.c < HLC_MAX_C) return { ms: seen.ms, c: seen.c + 1 };
  return { ms: seen.ms + 1, c: 0 };
}

export function formatHlc(h: Hlc): string {
  return `${new Date(h.ms).toISOString()}+${h.c}`;
}
