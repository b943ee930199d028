// The ledger's writer thread: ingests batches from peers (decode, signatures, dapp validation,
// merges) on a connection of its own, so a merge that re-folds a thousand events never holds the
// event loop that answers badges (issue 3 "ingest must yield to decisions", issue 5 "sync
// decisions never stall the door"). The opening thread keeps reading from its own connection;
// WAL gives it the last committed state while this thread writes
// (https://www.sqlite.org/wal.html#concurrency). Bundled as dist/ledger-writer.js.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { allDapps } from '../dapps.ts';
import type { Dapp } from './dapp.ts';
import type { AppendedEvent } from './event.ts';
import { Ledger } from './ledger.ts';
import { addStats, dappSignature, pack, unpack, type WriterInit, type WriterReply, type WriterRequest } from './writer-wire.ts';

const port = parentPort!;
const send = (m: WriterReply): void => port.postMessage(m);

async function loadDapps(init: WriterInit): Promise<Dapp[]> {
  if (!init.dapps) return allDapps;
  const mod = (await import(init.dapps.module)) as Record<string, unknown>;
  const list = mod[init.dapps.export];
  if (!Array.isArray(list)) throw new Error(`${init.dapps.module} exports no dapp list '${init.dapps.export}'`);
  return list as Dapp[];
}

async function open(init: WriterInit): Promise<Ledger> {
  const dapps = await loadDapps(init);
  const mine = dappSignature(dapps);
  if (mine.join(' ') !== init.names.join(' ')) {
    // Two different rule sets on one database would fold it two ways.
    throw new Error(`writer thread runs dapps [${mine.join(', ')}], the ledger [${init.names.join(', ')}]`);
  }
  return Ledger.open({
    path: init.path, dapps, synchronous: init.synchronous, maxSkewMs: init.maxSkewMs, pending: init.pending,
    mergeChunk: init.mergeChunk, ...(init.orgId !== null && { orgId: Buffer.from(init.orgId, 'hex') }),
  });
}

async function handle(ledger: Ledger, m: WriterRequest): Promise<void> {
  if (m.op === 'close') { ledger.close(); port.close(); return; }
  const before = { ...ledger.stats };
  const appended: AppendedEvent[] = [];
  ledger.onAppend = (evs) => { for (const e of evs) appended.push(e); };
  try {
    // Signatures on this thread, not libuv's pool: on a two-core board, four pool threads
    // verifying would crowd out the thread that answers badges.
    const results = ledger.ingest(unpack(m.events), { atomic: m.atomic, durable: m.durable });
    const ids = new Uint8Array(32 * appended.length);
    appended.forEach((e, i) => ids.set(e.id, 32 * i));
    send({
      id: m.id, results, appended: pack(appended.map((e) => e.raw)), ids, kinds: appended.map((e) => [e.dapp, e.type]),
      stats: addStats({ linear: 0, merges: 0, mergedEvents: 0, refolded: 0 }, ledger.stats, before),
    });
  } catch (e) {
    send({ id: m.id, error: (e as Error).message });
  }
}

// Below the event loop's thread for the CPU: on Linux this sets the nice value of this thread only
// (setpriority(2) acts on the calling thread), so a catch-up yields the cores to the door.
try { setPriority(10); } catch { /* not permitted: run at the agent's priority */ }

// Requests are taken from the start (the port queues nothing for a listener added late) and run
// one at a time, in order, once the ledger is open: each is a transaction of its own.
const ready = open(workerData as WriterInit);
ready.catch((e: unknown) => { send({ fatal: (e as Error).message }); process.exit(1); });
let chain: Promise<void> = Promise.resolve();
port.on('message', (m: WriterRequest) => {
  chain = chain.then(async () => handle(await ready, m)).catch((e: unknown) => send({ id: m.id, error: (e as Error).message }));
});
