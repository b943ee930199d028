// The ledger's writer thread (writer: 'worker'): peers' batches are ingested and merged on a
// connection of the thread's own, and the opening thread's view (heads, state hash, cached reads,
// its own appends) stays exact. Also: another process writing the same file (a `gdo` command
// beside the agent) is picked up by data_version.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { decodeEvent, type AppendedEvent } from '../../agent/ledger/event.ts';
import { Ledger, type LedgerOptions } from '../../agent/ledger/ledger.ts';
import { foundOrg, signerFor, tempLedgers, testDapps } from './helpers.ts';

const writerDapps = { module: new URL('./helpers.ts', import.meta.url).href, export: 'testDapps' };
const T = 1_700_000_000_000;
const admin = signerFor('admin');
const node = signerFor('node');
const other = signerFor('other');

/** An in-memory org: genesis, then `node` and `other` enrolled. */
function history(): Ledger {
  const l = Ledger.open({ path: ':memory:', dapps: testDapps, synchronous: 'OFF', maxSkewMs: Infinity });
  foundOrg(l, admin, node, T);
  l.append(admin, 'org', 'node.add', { key: other.publicKey.toString('hex'), name: 'back-door', roles: ['door'] }, { now: T + 2 });
  return l;
}

/** Two in-memory replicas of one org that then go apart: `n` notes each, interleaved in time. */
function branches(n: number, keysA: number, keysB: number): { a: Ledger; b: Ledger; base: Buffer[] } {
  const a = history();
  const base = [...a.events()];
  const b = Ledger.open({ path: ':memory:', dapps: testDapps, synchronous: 'OFF', maxSkewMs: Infinity });
  copyInto(b, base);
  for (let i = 0; i < n; i++) {
    a.append(node, 'note', 'set', { k: `k${i % keysA}`, v: i }, { now: T + 100 + 2 * i });
    b.append(other, 'note', 'set', { k: `k${i % keysB}`, v: 5000 + i }, { now: T + 101 + 2 * i });
  }
  return { a, b, base };
}

function copyInto(target: Ledger, raws: Buffer[]): void {
  const r = target.ingest(raws);
  const bad = r.find((x) => x.status !== 'accepted' && x.status !== 'duplicate');
  if (bad) throw new Error(`${bad.code}: ${bad.message}`);
}

test('a batch ingested in the writer thread is seen whole by the opening thread', async () => {
  const t = tempLedgers();
  try {
    const src = history();
    const base = [...src.events()];
    src.appendBatch(node, Array.from({ length: 300 }, (_, i) => ({ dapp: 'note', type: 'set', body: { k: `k${i % 50}`, v: i } })), { now: T + 10 });
    const all = [...src.events()];
    const l = t.open('w', { writer: 'worker', writerDapps, maxSkewMs: Infinity });
    copyInto(l, base);
    assert.equal(l.get('note/v/k1'), undefined); // cached as absent
    const seen: AppendedEvent[] = [];
    l.onAppend = (evs) => seen.push(...evs);
    const results = await l.ingestAsync(all.slice(base.length));
    assert.deepEqual(new Set(results.map((r) => r.status)), new Set(['accepted']));
    assert.equal(l.writerStats?.starts, 1);
    assert.equal(l.count(), all.length);
    assert.equal(l.get('note/v/k1'), 251, 'the cached read was dropped when the thread committed');
    assert.deepEqual(l.heads(), src.heads());
    assert.equal(l.stateHash(), src.stateHash());
    assert.equal(l.stats.linear, base.length + 300, 'the thread reports what it did');
    assert.equal(seen.length, 300);
    assert.deepEqual(seen.map((e) => e.id.toString('hex')), all.slice(base.length).map((r) => decodeEvent(r).id.toString('hex')));
    assert.deepEqual(seen.map((e) => e.raw), all.slice(base.length));
    assert.ok(seen.every((e) => e.dapp === 'note' && e.type === 'set'));
    // The thread's appends and this thread's own then build on each other.
    const mine = l.append(node, 'note', 'set', { k: 'k1', v: -1 }, { now: T + 20 });
    assert.equal(mine.result.status, 'accepted');
    copyInto(src, [mine.event.raw]);
    assert.equal(l.stateHash(), src.stateHash());
    src.close();
  } finally { t.cleanup(); }
});

test('a concurrent branch merged in the writer thread folds as it would on this thread', async () => {
  const t = tempLedgers();
  try {
    const { a, b, base } = branches(200, 7, 5);
    b.append(admin, 'org', 'node.add', { key: signerFor('late').publicKey.toString('hex'), name: 'late', roles: ['door'] }, { now: T + 900 });
    const aRaws = [...a.events()].slice(base.length);
    const bRaws = [...b.events()].slice(base.length);
    const w = t.open('w', { writer: 'worker', writerDapps, maxSkewMs: Infinity });
    copyInto(w, base);
    copyInto(w, aRaws); // on this thread
    const r = await w.ingestAsync(bRaws); // in the thread: a merge
    assert.ok(r.every((x) => x.status === 'accepted'), JSON.stringify(r.find((x) => x.status !== 'accepted')));
    assert.ok(w.stats.merges > 0, 'the branch was merged, not appended');
    copyInto(a, bRaws);
    assert.equal(w.stateHash(), a.stateHash());
    assert.deepEqual(w.heads(), a.heads());
    assert.equal(w.get('org/key/' + signerFor('late').publicKey.toString('hex')) !== undefined, true);
    a.close(); b.close();
  } finally { t.cleanup(); }
});

test('a write by another connection (a gdo command beside the agent) is picked up before the next read or write', () => {
  const t = tempLedgers();
  try {
    const agent = t.open('shared');
    foundOrg(agent, admin, node, T);
    agent.append(node, 'note', 'set', { k: 'door', v: 1 }, { now: T + 5 });
    assert.equal(agent.get('note/v/door'), 1);
    const cli = Ledger.open({ path: join(t.dir, 'shared.db'), dapps: testDapps, synchronous: 'OFF' });
    assert.equal(cli.append(admin, 'note', 'set', { k: 'door', v: 2 }, { now: T + 6 }).result.status, 'accepted');
    assert.equal(cli.append(admin, 'note', 'lock', { k: 'door' }, { now: T + 7 }).result.status, 'accepted');
    cli.close();
    assert.equal(agent.get('note/v/door'), 2, 'no stale cached value');
    // The agent's next event builds on the command's and the state hash stays exact.
    assert.equal(agent.append(node, 'note', 'set', { k: 'door', v: 3 }, { now: T + 8 }).result.code, 'NOT_AUTHORIZED', 'the lock the command added holds');
    const r = agent.append(node, 'note', 'set', { k: 'other', v: 3 }, { now: T + 9 });
    assert.equal(r.result.status, 'accepted');
    const again = Ledger.open({ path: ':memory:', dapps: testDapps, synchronous: 'OFF', maxSkewMs: Infinity });
    copyInto(again, [...agent.events()]);
    assert.equal(agent.stateHash(), again.stateHash());
    assert.equal(agent.heads().length, 1);
    again.close();
  } finally { t.cleanup(); }
});

test('a writer thread that cannot start fails the batch with the reason, and nothing is half-applied', async () => {
  const t = tempLedgers();
  try {
    const opts: Partial<LedgerOptions> = { writer: 'worker', writerDapps: { module: writerDapps.module, export: 'noSuchExport' }, maxSkewMs: Infinity };
    const l = t.open('bad', opts);
    const src = history();
    await assert.rejects(l.ingestAsync([...src.events()]), /exports no dapp list 'noSuchExport'/);
    assert.equal(l.count(), 0);
    // A thread with a different set of dapps would fold the same file another way: refused.
    const l2 = t.open('other', { writer: 'worker', writerDapps: { module: new URL('../../agent/dapps.ts', import.meta.url).href, export: 'allDapps' }, maxSkewMs: Infinity });
    await assert.rejects(l2.ingestAsync([...src.events()]), /writer thread runs dapps \[org.*member/);
    src.close();
  } finally { t.cleanup(); }
});

test('the writer thread stops when idle and starts again with the next batch', async () => {
  const t = tempLedgers();
  try {
    const src = history();
    const l = t.open('idle', { writer: 'worker', writerDapps, writerIdleMs: 30, maxSkewMs: Infinity });
    const raws = [...src.events()];
    await l.ingestAsync(raws.slice(0, 2));
    assert.equal(l.writerRunning, true);
    const deadline = Date.now() + 5000;
    while (l.writerRunning && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(l.writerRunning, false, 'the idle thread stopped');
    await l.ingestAsync(raws.slice(2));
    assert.equal(l.writerStats!.starts, 2);
    assert.equal(l.count(), raws.length);
    await l.closeAsync();
    src.close();
  } finally { t.cleanup(); }
});

test('reads are answered from the last committed state while the writer thread merges, and a local append waits for the batch instead of the lock', async () => {
  const t = tempLedgers();
  try {
    const { a, b, base } = branches(600, 9, 9);
    const w = t.open('busy', { writer: 'worker', writerDapps, maxSkewMs: Infinity });
    copyInto(w, [...a.events()]);
    const before = w.get<number>('note/v/k0');
    let duringBatch = 0;
    const values = new Set<number | undefined>();
    const tick = setInterval(() => {
      if (!w.writerBusy) return;
      duringBatch++;
      values.add(w.snapshot(() => w.get<number>('note/v/k0')));
    }, 1);
    const merged = w.ingestAsync([...b.events()].slice(base.length));
    // Recorded while the batch is in the thread: committed after it, on this thread, not lost.
    let localDone = false;
    w.whenWriterIdle(() => {
      assert.equal(w.writerBusy, false);
      localDone = w.append(node, 'note', 'set', { k: 'local', v: 1 }, { now: T + 5000 }).result.status === 'accepted';
    });
    const r = await merged;
    clearInterval(tick);
    assert.ok(r.every((x) => x.status === 'accepted'));
    assert.ok(duringBatch > 0, 'the event loop kept answering while the thread merged');
    for (const v of values) assert.ok(v === before || v === w.get<number>('note/v/k0'), `a read saw ${v}: neither the state before nor after`);
    assert.equal(localDone, true);
    copyInto(a, [...b.events()].slice(base.length));
    copyInto(a, [...w.events()].slice(-1));
    assert.equal(w.stateHash(), a.stateHash());
    a.close(); b.close();
  } finally { t.cleanup(); }
});

test('a writer thread that dies holding a batch fails that batch with the reason; the next batch starts a new thread', async () => {
  const t = tempLedgers();
  try {
    const { a, b, base } = branches(400, 5, 5);
    const w = t.open('dies', { writer: 'worker', writerDapps, maxSkewMs: Infinity });
    const errors: string[] = [];
    copyInto(w, [...a.events()]);
    const before = w.stateHash();
    const merge = w.ingestAsync([...b.events()].slice(base.length));
    // The thread is killed while it holds the batch (as the kernel's OOM killer or a crash in a
    // native addon would); reaching into the writer is the only way a test can do that.
    const writer = (w as unknown as { writer: { worker: { terminate(): Promise<number> } | null; opts: { onError?: (m: string) => void } } }).writer;
    writer.opts.onError = (m) => errors.push(m);
    await writer.worker!.terminate(); // at once: the batch is certainly still in the thread's hands
    await assert.rejects(merge, /ledger writer thread stopped \(exit \d+\).*the batch was not committed/);
    assert.equal(w.stateHash(), before, 'nothing of the batch was applied');
    assert.equal(w.writerStats!.failures, 1);
    assert.equal(errors.length, 1);
    const again = await w.ingestAsync([...b.events()].slice(base.length));
    assert.ok(again.every((x) => x.status === 'accepted'));
    assert.equal(w.writerStats!.starts, 2);
    copyInto(a, [...b.events()].slice(base.length));
    assert.equal(w.stateHash(), a.stateHash());
    a.close(); b.close();
  } finally { t.cleanup(); }
});
