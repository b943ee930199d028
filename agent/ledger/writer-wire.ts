// The messages between a ledger and its writer thread (agent/ledger/writer.ts). Event bytes travel
// packed into one buffer with an offset table, so a batch of a thousand events costs the door's
// thread one copy and a few slices instead of a thousand cloned objects.
import type { Dapp } from './dapp.ts';
import type { IngestResult } from './ledger.ts';
import type { PendingLimits } from './pending.ts';

export interface WriterInit {
  path: string;
  synchronous: 'FULL' | 'NORMAL' | 'OFF';
  maxSkewMs: number;
  pending: PendingLimits;
  mergeChunk: number;
  orgId: string | null;
  /** The dapps module and export the thread loads; null: the agent's own set (agent/dapps.ts). */
  dapps: { module: string; export: string } | null;
  /** `name` of each dapp the opening thread runs, in order: the thread refuses to run another set. */
  names: string[];
}

export interface Packed { bytes: Uint8Array; ends: number[] }

export interface IngestRequest { id: number; op: 'ingest'; events: Packed; atomic: boolean; durable: boolean }
export type WriterRequest = IngestRequest | { id: number; op: 'close' };

export interface IngestReply {
  id: number;
  results: IngestResult[];
  /** What the commit appended: raw events, and per event its id (32 bytes each), dapp and type. */
  appended: Packed;
  ids: Uint8Array;
  kinds: Array<[string, string]>;
  /** What Ledger.stats counted for this batch. */
  stats: LedgerStats;
}
export type WriterReply = IngestReply | { id: number; error: string } | { fatal: string };

export interface LedgerStats { linear: number; merges: number; mergedEvents: number; refolded: number }
const STAT_KEYS = ['linear', 'merges', 'mergedEvents', 'refolded'] as const;

/** `into` += `plus` - `minus`, counter by counter. */
export function addStats(into: LedgerStats, plus: LedgerStats, minus?: LedgerStats): LedgerStats {
  for (const k of STAT_KEYS) into[k] += plus[k] - (minus?.[k] ?? 0);
  return into;
}

export function pack(raws: Uint8Array[]): Packed {
  const ends: number[] = [];
  let n = 0;
  for (const r of raws) { n += r.length; ends.push(n); }
  const bytes = new Uint8Array(n);
  let o = 0;
  for (const r of raws) { bytes.set(r, o); o += r.length; }
  return { bytes, ends };
}

export function unpack(p: Packed): Buffer[] {
  const all = Buffer.from(p.bytes.buffer, p.bytes.byteOffset, p.bytes.byteLength);
  const out: Buffer[] = [];
  let start = 0;
  for (const end of p.ends) { out.push(all.subarray(start, end)); start = end; }
  return out;
}

/** Each dapp with its event types: what both threads must agree on before one writes for the other. */
export function dappSignature(dapps: Dapp[]): string[] {
  return dapps.map((d) => `${d.name}(${Object.keys(d.types).sort().join(',')})`);
}
