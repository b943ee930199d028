// The agent beside a site's own Mosquitto (sync.mosquitto_dir): Mosquitto has no view of the ledger, so this
// part rewrites its password and ACL files from the ledger after every org event (an approval, a revocation)
// and sends it SIGHUP to read them again (agent/sync/mosquitto-files.ts). Accounts as the embedded broker
// makes them (parts/hub-broker.ts): enrolled nodes, and the operators of sync.broker_operators and of the files
// as `gdo broker mosquitto-config --operators` wrote them, the names the files list as enrolling until
// they are approved or revoked, and this node itself, enrolled or not: like a hub (6.2.1) it must receive the
// approval that enrols it, through the broker whose files it writes.
import type { AppendedEvent } from '../../ledger/event.ts';
import type { Ledger } from '../../ledger/ledger.ts';
import { accessFromLedger, rulesFor, type BrokerAccess } from '../../sync/broker-auth.ts';
import { pidFileOf, readListed, reloadMosquitto, writeMosquittoAccess } from '../../sync/mosquitto-files.ts';
import { errText, type Logger } from '../log.ts';
import type { Part, PartHealth } from '../supervisor.ts';
import { readBrokerSecret } from './hub-broker.ts';

export interface MosquittoFilesOptions {
  ledger: () => Ledger | undefined;
  dir: string;
  /** sync.mosquitto_pid_file; undefined: the pid_file of DIR/mosquitto.conf, read at each reload. */
  pidFile: string | undefined;
  secretFile: string;
  operators: readonly string[];
  /** This node's name and roles (node.name, node.roles). */
  nodeName: string;
  roles: readonly string[];
  /**
   * Called shortly after each reload. A node approved a moment ago was subscribed all along, but the old ACL
   * kept this node's presence from it; announcing again lets it see this node and fetch its approval now
   * rather than at the next presence refresh (30 s).
   */
  onReloaded?: () => void;
  log: Logger;
}

/** Mosquitto reads the files some time after SIGHUP; presence is announced after each of these delays. */
const ANNOUNCE_AFTER_MS = [300, 1500] as const;

export class MosquittoFilesPart implements Part {
  readonly name = 'mosquitto-files';
  readonly deps = ['ledger'];
  readonly #o: MosquittoFilesOptions;
  #ledger: Ledger | undefined;
  #installed: ((evs: AppendedEvent[]) => void) | undefined;
  #prev: ((evs: AppendedEvent[]) => void) | null = null;
  #queued = false;
  #lastError: string | undefined;
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(o: MosquittoFilesOptions) {
    this.#o = o;
  }

  /** Throws at start when the files cannot be made (no secret, unwritable dir): one line naming the key. */
  start(): void {
    const ledger = this.#o.ledger();
    if (!ledger) throw new Error('the ledger is not open');
    this.#ledger = ledger;
    this.#refresh(true);
    this.#prev = ledger.onAppend;
    const hook = (events: AppendedEvent[]): void => {
      if (this.#queued || !events.some((e) => e.dapp === 'org')) return;
      this.#queued = true;
      // After the commit that changed the org, outside the ledger's call.
      setImmediate(() => { this.#queued = false; this.#refresh(false); });
    };
    const prev = this.#prev;
    this.#installed = prev ? (evs): void => { prev(evs); hook(evs); } : hook;
    ledger.onAppend = this.#installed;
  }

  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    if (this.#ledger && this.#ledger.onAppend === this.#installed) this.#ledger.onAppend = this.#prev;
    this.#ledger = undefined;
  }

  health(): PartHealth {
    return this.#lastError ? { state: 'degraded', detail: this.#lastError } : { state: 'ok' };
  }

  #build(ledger: Ledger): BrokerAccess {
    const secret = readBrokerSecret(this.#o.secretFile, 'the Mosquitto password file is made from it');
    const listed = readListed(this.#o.dir);
    const operators = [...new Set([...this.#o.operators, ...listed.operators])];
    const self = this.#o.nodeName;
    // Listed as enrolling first for its derived password hash, then given a node's rules.
    const a = accessFromLedger(ledger, { secret, operators, enrolling: [...listed.enrolling, self] });
    const users = a.users.map((u) => (u.name === self && u.kind === 'enrolling' ? { ...u, kind: 'node' as const, rules: rulesFor(a.org, self, 'node', this.#o.roles) } : u));
    return { ...a, users };
  }

  #announceSoon(): void {
    const cb = this.#o.onReloaded;
    if (!cb) return;
    for (const ms of ANNOUNCE_AFTER_MS) {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        try { cb(); } catch (err) { this.#o.log.warn({ err }, `mosquitto: announcing after the reload failed: ${errText(err)}`); }
      }, ms);
      t.unref();
      this.#timers.add(t);
    }
  }

  #refresh(first: boolean): void {
    const ledger = this.#ledger;
    if (!ledger) return;
    try {
      const access = this.#build(ledger);
      let changed: boolean;
      try { changed = writeMosquittoAccess(this.#o.dir, access); } catch (err) {
        throw new Error(`sync.mosquitto_dir: cannot write ${this.#o.dir}: ${(err as NodeJS.ErrnoException).code ?? errText(err)}`);
      }
      const summary = { nodes: access.users.filter((u) => u.kind === 'node').length, operators: access.users.filter((u) => u.kind === 'operator').length, enrolling: access.users.filter((u) => u.kind === 'enrolling').length };
      if (changed || first) {
        const pid = reloadMosquitto(this.#o.pidFile ?? pidFileOf(this.#o.dir));
        this.#o.log.info({ accounts: summary, pid }, 'mosquitto: password and ACL files rewritten from the ledger; sent SIGHUP');
        if (!first) this.#announceSoon();
      }
      this.#lastError = undefined;
    } catch (err) {
      // The files Mosquitto has stay in force; the next org event or restart tries again.
      this.#lastError = errText(err);
      if (first) throw err;
      this.#o.log.error({ err }, `mosquitto: files not updated: ${errText(err)}`);
    }
  }
}
