// Derived state as layered key-value views. The fold writes through an overlay so that a merge
// can re-fold from the fork point without touching the database until it commits, and so that
// one dapp's failing event leaves no partial writes (EventTx).
import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import type { StateWriter } from './dapp.ts';

/** null marks a deleted key in an overlay. */
export type Val = string | null;

export interface KV {
  get(k: string): string | undefined;
  /** Entries with lo <= key < hi, ascending by key. */
  scan(lo: string, hi: string): Array<[string, string]>;
}

/** Merges a lower layer's range with the writes of an upper layer (null = deleted there). */
function scanLayered(below: KV, writes: Map<string, Val>, lo: string, hi: string): Array<[string, string]> {
  const base = below.scan(lo, hi);
  const mine: Array<[string, Val]> = [];
  for (const [k, v] of writes) if (k >= lo && k < hi) mine.push([k, v]);
  if (mine.length === 0) return base;
  const merged = new Map<string, Val>(base);
  for (const [k, v] of mine) merged.set(k, v);
  return [...merged].filter((e): e is [string, string] => e[1] !== null).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export class Overlay implements KV {
  readonly map = new Map<string, Val>();
  constructor(readonly base: KV) {}
  get(k: string): string | undefined {
    const v = this.map.get(k);
    if (v !== undefined) return v ?? undefined;
    return this.base.get(k);
  }
  set(k: string, v: Val): void { this.map.set(k, v); }
  scan(lo: string, hi: string): Array<[string, string]> { return scanLayered(this.base, this.map, lo, hi); }
}

/** One event's writes, applied to the layer below only if the whole apply succeeds. */
export class EventTx implements StateWriter {
  private readonly writes = new Map<string, Val>();
  private readonly parsed = new Map<string, unknown>();
  constructor(private readonly below: KV) {}
  private raw(k: string): string | undefined {
    const w = this.writes.get(k);
    if (w !== undefined) return w ?? undefined;
    return this.below.get(k);
  }
  get<T = unknown>(key: string): T | undefined {
    if (this.parsed.has(key)) return this.parsed.get(key) as T | undefined;
    const r = this.raw(key);
    const v = r === undefined ? undefined : (JSON.parse(r) as T);
    this.parsed.set(key, v);
    return v;
  }
  has(key: string): boolean { return this.raw(key) !== undefined; }
  scan<T = unknown>(prefix: string, from = ''): Array<[string, T]> {
    return scanLayered(this.below, this.writes, prefix + from, `${prefix}\uffff`).map(([k, v]) => [k, JSON.parse(v) as T]);
  }
  put(key: string, value: unknown): void {
    this.writes.set(key, canonicalJson(value));
    this.parsed.delete(key);
  }
  del(key: string): void {
    this.writes.set(key, null);
    this.parsed.delete(key);
  }
  /** Writes into `target` and returns the undo records: each key with its value before. */
  commitTo(target: { set(k: string, v: Val): void }): Array<[string, Val]> {
    const undo: Array<[string, Val]> = [];
    for (const [k, v] of this.writes) {
      const old = this.below.get(k) ?? null;
      if (old === v) continue;
      undo.push([k, old]);
      target.set(k, v);
    }
    return undo;
  }
}

const STATE_DOMAIN = Buffer.from('gdo:state:v1\0', 'ascii');
const MOD = 1n << 256n;

/** Hash of one state entry; the state hash is the sum of these mod 2^256, so it updates in O(1). */
export function entryHash(k: string, v: string): bigint {
  const h = createHash('sha256').update(STATE_DOMAIN).update(k).update('\0').update(v).digest();
  return BigInt(`0x${h.toString('hex')}`);
}

export function updateStateHash(hash: bigint, k: string, oldV: Val | undefined, newV: Val | undefined): bigint {
  let h = hash;
  if (oldV != null) h = (h - entryHash(k, oldV) + MOD) % MOD;
  if (newV != null) h = (h + entryHash(k, newV)) % MOD;
  return h;
}

export function formatStateHash(h: bigint): string {
  return h.toString(16).padStart(64, '0');
}
