// Benchmarks of issue 2: `ingest` (bundle into an empty store vs native verification of the
// same events) and `merge` (a concurrent branch vs the same events appended at the head).
import { copyFileSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBundle } from '../agent/ledger/bundle.ts';
import { verifyNative } from '../agent/ledger/crypto.ts';
import { decodeEvent, signingBytes, unsignedPart } from '../agent/ledger/event.ts';
import { Ledger } from '../agent/ledger/ledger.ts';
import { benchDapps, EventFactory, signer } from './fixtures.ts';
import type { Metric } from './metric.ts';

const nodes = () => [signer('n1'), signer('n2'), signer('n3'), signer('n4')];

export async function ingestBench(size = Number(process.env.GDO_BENCH_INGEST ?? 100_000)): Promise<Metric[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gdo-bench-'));
  try {
    const f = new EventFactory(signer('admin'), nodes());
    f.linear(size - f.events.length);
    const bundlePath = join(dir, 'events.bundle');
    writeFileSync(bundlePath, writeBundle(f.org, f.events));
    // The import runs in its own process so that its peak memory is its own.
    const child = spawnSync(process.execPath, ['--import', 'tsx', new URL('./ingest-child.ts', import.meta.url).pathname, bundlePath, join(dir, 'ledger.db')], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`ingest child failed: ${child.stderr}`);
    const r = JSON.parse(child.stdout.trim().split('\n').pop()!) as { ms: number; count: number; rssMb: number; dbBytes: number };
    // Native verification of the same events, same run, one thread, cached keys.
    const decoded = f.events.map((raw) => decodeEvent(raw)).map((e) => ({ a: e.author, m: signingBytes(unsignedPart(e)), s: e.sig }));
    const t0 = performance.now();
    let ok = 0;
    for (const d of decoded) if (verifyNative(d.a, d.m, d.s)) ok++;
    const verifyMs = performance.now() - t0;
    if (ok !== decoded.length || r.count !== size) throw new Error(`ingest bench: ${r.count} stored, ${ok} verified of ${size}`);
    const eps = (size / r.ms) * 1000;
    const vps = (size / verifyMs) * 1000;
    return [
      { suite: 'ingest', metric: 'events_per_s', value: Math.round(eps), unit: 'events/s' },
      { suite: 'ingest', metric: 'native_verify_per_s', value: Math.round(vps), unit: 'verifications/s' },
      { suite: 'ingest', metric: 'ratio', value: Number((eps / vps).toFixed(3)), unit: 'x (goal >= 0.8)' },
      { suite: 'ingest', metric: 'bytes_per_event', value: Math.round(r.dbBytes / size), unit: 'bytes' },
      { suite: 'ingest', metric: 'peak_rss_mb', value: Number(r.rssMb.toFixed(1)), unit: 'MB' },
    ];
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

export async function mergeBench(size = Number(process.env.GDO_BENCH_MERGE ?? 200_000), branch = 1000): Promise<Metric[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gdo-bench-'));
  try {
    const ns = nodes();
    const f = new EventFactory(signer('admin'), ns);
    const fork = f.linear(size - branch - f.events.length);
    const baseCount = f.events.length;
    // Two concurrent branches from the fork: the ledger's own (L) and a peer's (B).
    f.linear(branch, fork, [ns[0]!, ns[1]!]);
    const lEvents = f.events.slice(baseCount);
    const bStart = f.events.length;
    f.linear(branch, fork, [ns[2]!, ns[3]!]);
    const bEvents = f.events.slice(bStart);
    const basePath = join(dir, 'base.db');
    const base = Ledger.open({ path: basePath, dapps: benchDapps, synchronous: 'OFF' });
    await base.ingestAsync(f.events.slice(0, baseCount));
    base.close();
    const run = async (name: string, pre: Buffer[]): Promise<{ ms: number; l: Ledger }> => {
      const p = join(dir, `${name}.db`);
      copyFileSync(basePath, p);
      const l = Ledger.open({ path: p, dapps: benchDapps, synchronous: 'FULL' });
      if (pre.length) await l.ingestAsync(pre);
      const t0 = performance.now();
      const res = await l.ingestAsync(bEvents);
      const ms = performance.now() - t0;
      if (res.some((r) => r.status !== 'accepted')) throw new Error(`${name}: not all accepted`);
      return { ms, l };
    };
    const linear = await run('linear', []);
    const merged = await run('merged', lEvents);
    const ok = merged.l.count() === size + branch && merged.l.stats.merges > 0;
    linear.l.close(); merged.l.close();
    if (!ok) throw new Error('merge bench: the branch was not merged');
    return [
      { suite: 'merge', metric: 'ledger_events', value: size, unit: 'events' },
      { suite: 'merge', metric: 'merge_ms', value: Number(merged.ms.toFixed(1)), unit: 'ms' },
      { suite: 'merge', metric: 'linear_append_ms', value: Number(linear.ms.toFixed(1)), unit: 'ms' },
      { suite: 'merge', metric: 'ratio', value: Number((merged.ms / linear.ms).toFixed(2)), unit: 'x (goal <= 3)' },
    ];
  } finally { rmSync(dir, { recursive: true, force: true }); }
}

export function dbBytes(path: string): number {
  let n = statSync(path).size;
  for (const ext of ['-wal', '-shm']) { try { n += statSync(path + ext).size; } catch { /* absent */ } }
  return n;
}
