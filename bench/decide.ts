// Benchmark `decide` (issue 3): decisions on a node whose ledger holds 10,000 members, 50,000
// badges and 1,000,000 events. p50_us / p99_us on an idle node; p99_under_ingest_us while a
// 100,000-event catch-up is ingested in the same process through the sync layer's ingest queue
// (chunks on the thread pool, a pause between chunks). Under ingest, the latency of a badge is
// counted from when it was due (a timer firing every 2 ms) to the decision, so time spent waiting
// for the event loop counts. The ledger is built once and cached (GDO_BENCH_CACHE, default
// ~/.cache/gdo/bench); GDO_BENCH_DECIDE_EVENTS shrinks it for a quick run.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { allDapps } from '../agent/dapps.ts';
import { AccessService } from '../agent/access/decide.ts';
import { badgeHash } from '../agent/access/badge-hash.ts';
import type { Json } from '../agent/ledger/canonical-json.ts';
import type { Signer } from '../agent/ledger/crypto.ts';
import { hex } from '../agent/ledger/event.ts';
import { Ledger } from '../agent/ledger/ledger.ts';
import { IngestQueue } from '../agent/sync/ingest-queue.ts';
import { signer } from './fixtures.ts';
import type { Metric } from './metric.ts';

const MEMBERS = 10_000;
const BADGES = 50_000;
const SECRET = Buffer.alloc(32, 7);
const uidOf = (i: number): Buffer => { const b = Buffer.alloc(7); b.writeUInt32BE(i, 3); b[0] = 0x04; return b; };
const T0 = Date.UTC(2026, 0, 5, 9, 0);

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** Appends items in chains of up to 5,000 per transaction (the same path as the access log). */
function appendAll(l: Ledger, who: Signer, items: Array<{ dapp: string; type: string; body: Json }>, now: () => number): void {
  for (let k = 0; k < items.length; k += 5000) {
    const { results } = l.appendBatch(who, items.slice(k, k + 5000), { now: now() });
    const bad = results.find((r) => r.status !== 'accepted');
    if (bad) throw new Error(`bench ledger: ${bad.code} ${bad.message}`);
  }
}

function buildLedger(path: string, total: number): void {
  let t = T0;
  const now = (): number => (t += 1);
  const l = Ledger.open({ path, dapps: allDapps, synchronous: 'OFF', now, maxSkewMs: 10 * 365 * 86_400_000 });
  try {
    const admin = signer('decide admin');
    const nodes = [0, 1, 2, 3].map((i) => signer(`decide node ${i}`));
    l.append(admin, 'org', 'genesis', { name: 'Bench Space', admins: [{ key: hex(admin.publicKey), name: 'admin' }] }, { now: now() });
    appendAll(l, admin, nodes.map((n, i) => ({ dapp: 'org', type: 'node.add', body: { key: hex(n.publicKey), name: `door-${i}`, roles: ['door'] } })), now);
    appendAll(l, admin, [
      { dapp: 'door', type: 'schedule', body: { id: 'open', tz: 'Europe/Berlin', windows: [{ days: ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'], from: '00:00', to: '24:00' }] } },
      ...[0, 1, 2, 3].map((i) => ({ dapp: 'door', type: 'add', body: { id: `d${i}`, name: `Door ${i}`, node: `door-${i}`, rules: [{ group: 'members', schedule: 'open' }] } })),
    ], now);
    const members = Array.from({ length: MEMBERS }, (_, i) => ({ dapp: 'member', type: 'add', body: { id: `m${i}`, name: `Member ${i}`, groups: ['members'] } }));
    appendAll(l, admin, members, now);
    const badges = Array.from({ length: BADGES }, (_, i) => ({ dapp: 'badge', type: 'assign', body: { badge: badgeHash(SECRET, uidOf(i)), member: `m${i % MEMBERS}` } }));
    appendAll(l, admin, badges, now);
    // The rest is what a year of a busy space looks like: access decisions from the doors.
    let i = 0;
    while (l.count() < total) {
      const n = i % 4;
      const items = Array.from({ length: Math.min(5000, total - l.count()) }, (_, k) => {
        const b = (i * 5000 + k) % BADGES;
        const allow = b % 10 !== 0;
        return { dapp: 'access', type: 'decision', body: { resource: `door:d${n}`, allow, reason: allow ? 'allowed' : 'outside_schedule', member: `m${b % MEMBERS}`, badge: badgeHash(SECRET, uidOf(b)) } };
      });
      appendAll(l, nodes[n]!, items, now);
      i++;
    }
  } finally { l.close(); }
}

export async function decideBench(): Promise<Metric[]> {
  const total = Number(process.env.GDO_BENCH_DECIDE_EVENTS ?? 1_000_000);
  const cache = process.env.GDO_BENCH_CACHE ?? join(homedir(), '.cache', 'gdo', 'bench');
  mkdirSync(cache, { recursive: true });
  const cached = join(cache, `decide-${total}-v1.db`);
  let buildS = 0;
  if (!existsSync(cached)) {
    const t = performance.now();
    const tmp = `${cached}.${process.pid}.tmp`;
    buildLedger(tmp, total);
    renameSync(tmp, cached);
    buildS = (performance.now() - t) / 1000;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gdo-bench-decide-'));
  try {
    const path = join(dir, 'ledger.db');
    copyFileSync(cached, path);
    // As the agent opens it (agent/daemon/parts/ledger.ts): checkpoints and peers' batches in threads of their own.
    const l = Ledger.open({ path, dapps: allDapps, now: () => Date.now(), maxSkewMs: 10 * 365 * 86_400_000, checkpoint: 'worker', writer: 'worker' });
    const node = signer('decide node 0');
    const svc = new AccessService({ ledger: l, nodeKey: hex(node.publicKey), siteSecret: SECRET, policy: { maxOfflineMs: null } });
    const count = l.count();
    let allowed = 0;
    const decideOnce = (k: number): number => {
      const t = process.hrtime.bigint();
      const d = svc.decide({ credential: uidOf((k * 7919) % (BADGES + 500)), resource: `door:d${k % 4}`, at: new Date(l.latestHlc().ms + 1000) });
      if (d.allow) allowed++;
      return Number(process.hrtime.bigint() - t) / 1000;
    };
    for (let k = 0; k < 2000; k++) decideOnce(k); // warm caches and the JIT
    const idle = Array.from({ length: 20_000 }, (_, k) => decideOnce(k));
    if (allowed === 0) throw new Error('decide bench: nothing was allowed; the fixture is wrong');

    // A peer's 100,000 events, concurrent with ours: access decisions of a fifth door node.
    copyFileSync(cached, join(dir, 'peer.db'));
    const p = Ledger.open({ path: join(dir, 'peer.db'), dapps: allDapps, synchronous: 'OFF', maxSkewMs: 10 * 365 * 86_400_000 });
    const other = signer('decide node 1');
    let t = p.latestHlc().ms;
    appendAll(p, other, Array.from({ length: 100_000 }, () => ({ dapp: 'access', type: 'decision', body: { resource: 'door:d1', allow: false, reason: 'unknown_badge' } })), () => (t += 1));
    const fresh = [...p.events()].slice(-100_000);
    p.close();
    const q = new IngestQueue(l, { onResult: () => {}, onError: (e) => { throw e; } });
    const under: number[] = [];
    const t0 = performance.now();
    let next = performance.now();
    let k = 0;
    const ticker = setInterval(() => {
      // Every badge due since the last tick is answered now; its wait counts.
      while (next <= performance.now()) {
        const wait = (performance.now() - next) * 1000;
        under.push(wait + decideOnce(k++));
        next += 2;
      }
    }, 2);
    q.push('peer', fresh);
    await q.idle();
    clearInterval(ticker);
    const ingestMs = performance.now() - t0;
    if (l.count() !== count + 100_000) throw new Error(`decide bench: ingest left ${l.count() - count} of 100,000 events`);
    await l.closeAsync();
    return [
      { suite: 'decide', metric: 'ledger_events', value: count, unit: 'events' },
      { suite: 'decide', metric: 'p50_us', value: Number(percentile(idle, 50).toFixed(1)), unit: 'us' },
      { suite: 'decide', metric: 'p99_us', value: Number(percentile(idle, 99).toFixed(1)), unit: 'us (goal <= 100)' },
      { suite: 'decide', metric: 'p99_under_ingest_us', value: Math.round(percentile(under, 99)), unit: 'us (goal <= 5000)' },
      { suite: 'decide', metric: 'decisions_under_ingest', value: under.length, unit: 'decisions' },
      { suite: 'decide', metric: 'ingest_events_per_s', value: Math.round(100_000 / (ingestMs / 1000)), unit: 'events/s' },
      ...(buildS ? [{ suite: 'decide', metric: 'fixture_build_s', value: Math.round(buildS), unit: 's (cached afterwards)' }] : []),
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
