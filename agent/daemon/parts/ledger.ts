// The ledger replica as a supervised part. A failed check (the file gone or replaced, a read error) or a
// failed write reported by the event sink makes the part fail: the daemon then drives outputs safe and
// denies badges until the database is open and answering again (docs/design-notes.md, door.ts "faults").
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { allDapps } from '../../dapps.ts';
import { Ledger } from '../../ledger/ledger.ts';
import type { Dapp } from '../../ledger/dapp.ts';
import type { AgentConfig } from '../config/index.ts';
import { errText } from '../log.ts';
import type { Part, PartHealth } from '../supervisor.ts';

export class LedgerPart implements Part {
  readonly name = 'ledger';
  readonly #cfg: AgentConfig['ledger'];
  readonly #org: Buffer | undefined;
  readonly #dapps: Dapp[];
  #ledger: Ledger | undefined;
  #ino = 0;
  #checkedAt = 0;
  #problem: string | undefined;

  /** `org`: the genesis id (hex) this node belongs to, "" to take whatever the database holds. */
  constructor(cfg: AgentConfig['ledger'], org: string, dapps: Dapp[] = allDapps) {
    this.#cfg = cfg;
    this.#org = org === '' ? undefined : Buffer.from(org, 'hex');
    this.#dapps = dapps;
  }

  get ledger(): Ledger | undefined { return this.#ledger; }

  start(): void {
    mkdirSync(dirname(this.#cfg.file), { recursive: true, mode: 0o700 });
    this.#ledger = Ledger.open({
      path: this.#cfg.file, dapps: this.#dapps, synchronous: this.#cfg.synchronous, maxSkewMs: this.#cfg.max_skew_ms,
      ...(this.#org && { orgId: this.#org }),
      // WAL checkpoints and peers' batches (validation, merges) in threads of their own: neither a
      // checkpoint's fsync nor a merge's re-fold may hold up a badge.
      checkpoint: 'worker',
      writer: 'worker',
    });
    this.#ino = statSync(this.#cfg.file).ino;
    this.#problem = undefined;
    this.#checkedAt = Date.now();
  }

  async stop(): Promise<void> {
    const l = this.#ledger;
    this.#ledger = undefined;
    // The writer thread commits the batch it holds (sync has stopped handing it more) and closes;
    // the last connection to close checkpoints the WAL.
    await l?.closeAsync();
  }

  health(): PartHealth {
    if (!this.#ledger) return { state: 'failed', detail: 'not open' };
    const now = Date.now();
    if (this.#problem === undefined && now - this.#checkedAt >= this.#cfg.health_check_ms) {
      this.#checkedAt = now;
      this.#problem = this.#probe(this.#ledger);
    }
    return this.#problem === undefined ? { state: 'ok' } : { state: 'failed', detail: this.#problem };
  }

  #probe(l: Ledger): string | undefined {
    try {
      if (statSync(this.#cfg.file).ino !== this.#ino) return `${this.#cfg.file} was replaced while open`;
      l.store.meta('org');
      return undefined;
    } catch (err) {
      return `database check failed: ${errText(err)}`;
    }
  }
}
