// WAL checkpoints off the event loop. SQLite checkpoints inside the commit that crosses
// wal_autocheckpoint pages, copying the WAL into the database and fsyncing it: on an SD card that
// is tens to hundreds of milliseconds in which a badge would wait. With a checkpointer the main
// connection never checkpoints; a worker thread watches the WAL's size and, when it has grown,
// opens its own connection, runs a PASSIVE checkpoint (which never blocks the writer) and closes
// it again, so no second connection outlives a checkpoint (the last close removes the WAL).
// https://www.sqlite.org/wal.html#ckpt
import { Worker } from 'node:worker_threads';
import type { Db } from './db.ts';

const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { statSync } = require('node:fs');
const Database = require('better-sqlite3');
const { path, thresholdBytes, intervalMs } = workerData;
// Below the event loop's thread for the CPU (on Linux, for this thread only): see writer-worker.ts.
try { require('node:os').setPriority(10); } catch {}
let stopped = false;
parentPort.on('message', (m) => { if (m === 'stop') { stopped = true; clearInterval(timer); parentPort.close(); } });
const timer = setInterval(() => {
  if (stopped) return;
  let size = 0;
  try { size = statSync(path + '-wal').size; } catch { return; }
  if (size < thresholdBytes) return;
  let db;
  try {
    db = new Database(path, { fileMustExist: true });
    db.pragma('busy_timeout = 1000');
    const [r] = db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ checkpointed: r });
  } catch (e) {
    parentPort.postMessage({ error: String(e && e.message || e) });
  } finally {
    if (db) db.close();
  }
}, intervalMs);
`;

export interface CheckpointerOptions {
  /** Checkpoint once the WAL is this large (default 4 MiB, about SQLite's own 1000 pages). */
  thresholdBytes?: number;
  intervalMs?: number;
  onError?: (message: string) => void;
}

export class Checkpointer {
  private worker: Worker | null;
  readonly stats = { checkpoints: 0, errors: 0 };

  constructor(private readonly db: Db, path: string, opts: CheckpointerOptions = {}) {
    db.pragma('wal_autocheckpoint = 0');
    this.worker = new Worker(WORKER, {
      eval: true,
      workerData: { path, thresholdBytes: opts.thresholdBytes ?? 4 * 1024 * 1024, intervalMs: opts.intervalMs ?? 250 },
    });
    this.worker.on('message', (m: { checkpointed?: unknown; error?: string }) => {
      if (m.error !== undefined) { this.stats.errors++; opts.onError?.(`WAL checkpoint: ${m.error}`); } else this.stats.checkpoints++;
    });
    // Whatever stops the worker, the main connection goes back to checkpointing itself: a WAL
    // must never grow without bound.
    this.worker.on('error', (e) => { this.fallBack(); opts.onError?.(`checkpoint worker failed: ${e.message}`); });
    this.worker.on('exit', () => this.fallBack());
    // After the listeners: adding a 'message' listener refs the port again. The checkpointer must
    // never be what keeps a process alive.
    this.worker.unref();
  }

  private fallBack(): void {
    if (!this.worker) return;
    this.worker = null;
    if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
  }

  /** Stops the worker; the ledger then closes its connection, which checkpoints what is left. */
  stop(): void {
    const w = this.worker;
    this.fallBack();
    w?.postMessage('stop');
  }
}
