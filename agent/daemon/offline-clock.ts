// The offline clock: since when this node has been without contact with any peer, kept across restarts in
// STATE_DIR/offline-clock.json, so a door that reboots while cut off does not get another
// access.max_offline_ms (docs/access-model.md, "Decisions"). Sync knows the last contact only in memory;
// this keeps the newest of the two.
//
// The SD card: the file is rewritten at most once per `writeEveryMs` (a minute) and on a clean stop. A power
// cut loses at most that minute, which makes the saved contact older than the real one: the offline policy
// then applies earlier, never later. Writes are atomic (temporary file, fsync, rename, fsync of the
// directory), so the file is either the old record or the new one.
//
// What the file says is trusted only as far as it can be: a missing file means no record (a node's first
// start, or a state directory from before the file existed), and counting starts now; a file that does not
// parse, or a time further in the future than access.clock_tolerance_ms (the clock is wrong or the file is),
// leaves the last contact unknown, and the offline policy applies until a peer is reached.
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errText, type Logger } from './log.ts';

export const OFFLINE_CLOCK_FILE = 'offline-clock.json';
const FORMAT = 'gdo-offline-clock-v1';

/** peer: a real exchange with a peer. first-start: no contact yet; counting since the node first started. */
export type ContactKind = 'peer' | 'first-start';

interface SavedClock { format: typeof FORMAT; since_ms: number; kind: ContactKind }

export interface OfflineClockOptions {
  stateDir: string;
  log: Logger;
  /** Sync's last contact (epoch ms), null when none since sync (re)started. */
  live: () => number | null;
  /** access.clock_tolerance_ms: how far in the future a saved time may be and still be believed. */
  toleranceMs: number;
  /** Fewest ms between two writes of the file; default one minute. */
  writeEveryMs?: number;
  /** How often sync's value is looked at; default 5 s (an in-memory read). */
  checkEveryMs?: number;
  now?: () => number;
}

export interface OfflineClockStatus {
  /** Since when the node counts itself offline (ISO), null when unknown (the offline policy applies). */
  since: string | null;
  /** peer, first-start, or unknown. */
  kind: ContactKind | 'unknown';
  /** Where `since` comes from: this run's sync, the file from an earlier run, or none. */
  source: 'sync' | 'saved' | 'none';
  /** The last contact with a peer (ISO), null when none is known. */
  last_contact: string | null;
  /** When the file was last written by this process (ISO), absent when not yet. */
  saved_at?: string;
}

export class OfflineClock {
  readonly file: string;
  readonly #o: OfflineClockOptions;
  readonly #now: () => number;
  /** The newest known point to count from, and what it is; null `since` = unknown. */
  #since: number | null = null;
  #kind: ContactKind | 'unknown' = 'unknown';
  #source: 'sync' | 'saved' | 'none' = 'none';
  /** What the file holds (as far as this process wrote or read it). */
  #written: number | null = null;
  #writtenKind: ContactKind | null = null;
  /** When this process last tried to write the file, and last did. */
  #lastWriteMs: number | null = null;
  #savedAtMs: number | null = null;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: OfflineClockOptions) {
    this.#o = o;
    this.#now = o.now ?? Date.now;
    this.file = join(o.stateDir, OFFLINE_CLOCK_FILE);
  }

  /** Reads the file (once, at start); what it finds is logged. */
  load(): void {
    const now = this.#now();
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#set(now, 'first-start', 'none');
        this.#o.log.info({ file: this.file }, 'offline clock: no record of a last contact; counting from now');
      } else {
        this.#o.log.error({ file: this.file }, `offline clock: cannot read ${this.file} (${errText(err)}); last contact unknown, the offline policy applies until a peer is reached`);
      }
      return;
    }
    const r = parse(text);
    if (!r) {
      this.#o.log.error({ file: this.file }, `offline clock: ${this.file} is not a valid record; last contact unknown, the offline policy applies until a peer is reached`);
      return;
    }
    if (r.since_ms > now + this.#o.toleranceMs) {
      this.#o.log.error({ file: this.file, saved: new Date(r.since_ms).toISOString(), now: new Date(now).toISOString() },
        'offline clock: the saved time is in the future (the clock or the file is wrong); last contact unknown, the offline policy applies until a peer is reached');
      return;
    }
    // Within the tolerance, a time ahead of the clock counts as now.
    this.#set(Math.min(r.since_ms, now), r.kind, 'saved');
    this.#written = r.since_ms;
    this.#writtenKind = r.kind;
    this.#o.log.info({ file: this.file, since: new Date(this.#since!).toISOString(), kind: r.kind },
      r.kind === 'peer' ? 'offline clock: last contact with a peer as saved' : 'offline clock: no contact yet; counting since the first start');
  }

  /** Looks at sync now and then, writes when due. */
  start(): void {
    this.tick();
    this.#timer = setInterval(() => this.tick(), this.#o.checkEveryMs ?? 5_000);
    this.#timer.unref();
  }

  /** A clean stop: the newest contact goes to the file whatever the write rate says. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#refresh();
    this.#save(true);
  }

  /** Epoch ms the offline period counts from; null when unknown (AccessService then applies the policy). */
  since(): number | null {
    this.#refresh();
    return this.#since;
  }

  status(): OfflineClockStatus {
    this.#refresh();
    const since = this.#since === null ? null : new Date(this.#since).toISOString();
    return {
      since, kind: this.#kind, source: this.#source, last_contact: this.#kind === 'peer' ? since : null,
      ...(this.#savedAtMs !== null && { saved_at: new Date(this.#savedAtMs).toISOString() }),
    };
  }

  tick(): void {
    this.#refresh();
    this.#save(false);
  }

  #refresh(): void {
    const live = this.#o.live();
    if (live !== null && (this.#kind !== 'peer' || this.#since === null || live > this.#since)) this.#set(live, 'peer', 'sync');
  }

  #set(since: number, kind: ContactKind, source: 'sync' | 'saved' | 'none'): void {
    this.#since = since;
    this.#kind = kind;
    this.#source = source;
  }

  #save(force: boolean): void {
    if (this.#since === null || this.#kind === 'unknown') return;
    if (this.#written === this.#since && this.#writtenKind === this.#kind) return;
    const now = this.#now();
    if (!force && this.#lastWriteMs !== null && now - this.#lastWriteMs < (this.#o.writeEveryMs ?? 60_000)) return;
    const rec: SavedClock = { format: FORMAT, since_ms: this.#since, kind: this.#kind };
    try {
      writeAtomic(this.file, `${JSON.stringify(rec)}\n`);
      this.#written = rec.since_ms;
      this.#writtenKind = rec.kind;
      this.#lastWriteMs = now;
      this.#savedAtMs = now;
    } catch (err) {
      // Kept in memory; the next tick tries again. A full or read-only card must not stop the door.
      this.#lastWriteMs = now;
      this.#o.log.warn({ file: this.file }, `offline clock: could not save the last contact: ${errText(err)}`);
    }
  }
}

function parse(text: string): SavedClock | undefined {
  let v: unknown;
  try { v = JSON.parse(text); } catch { return undefined; }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Partial<SavedClock>;
  if (r.format !== FORMAT || (r.kind !== 'peer' && r.kind !== 'first-start')) return undefined;
  if (typeof r.since_ms !== 'number' || !Number.isSafeInteger(r.since_ms) || r.since_ms <= 0) return undefined;
  return { format: FORMAT, since_ms: r.since_ms, kind: r.kind };
}

/** Temporary file, fsync, rename over the old one, fsync of the directory: the old record or the new one survives a power cut. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  const dir = openSync(dirname(path), 'r');
  try { fsyncSync(dir); } finally { closeSync(dir); }
}
