// How the simulated site follows its replicas: each agent's /status read a few times a second, changes
// worth a line (a node enrolled, a sync link lost or back, the replicas agreeing again after a catch-up),
// waiting for agreement after a revocation or a heal, and the desk's anomaly flags shown once each.
import type { AdminDesk } from './admin-desk.ts';
import type { AgentProc } from './agent-proc.ts';
import type { Display } from './display.ts';
import { nameOf, placeOf } from './narrate.ts';
import type { NodeName } from './plan.ts';

/** What the site reads from each agent's /status. */
export interface View {
  ready: boolean;
  enrolment: { enrolled: boolean };
  ledger: { state_hash: string; events: number } | null;
  sync: { state: string; peers: { name: string; connected?: boolean }[] } | null;
  doors: { id: string; unlocked: boolean; open: boolean; mode: string; alarms: { forced_open: boolean; held_open: boolean } }[];
  machines: { id: string; relay: boolean; session?: { member_id?: string } | null; trainer_window: boolean; out_of_service: boolean }[];
}

const TICK_MS = 300;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function clock(ms: number): string {
  const t = new Date(ms);
  return [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

export class Replicas {
  readonly #display: Display;
  readonly #desk: AdminDesk;
  readonly #agents: () => Map<NodeName, AgentProc>;
  #views = new Map<NodeName, View>();
  /** Since when the replicas have disagreed (as of the last status read). */
  #disagreeSince: number | undefined;
  /** Someone waits for agreement and reports it in their own words (start, revoke, heal). */
  #waiters = 0;
  #refreshing: Promise<void> | undefined;
  #anomaliesShown = 0;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopped = false;

  constructor(display: Display, desk: AdminDesk, agents: () => Map<NodeName, AgentProc>) {
    this.#display = display;
    this.#desk = desk;
    this.#agents = agents;
  }

  view(name: NodeName): View | undefined { return this.#views.get(name); }

  /** Polls every node until stop(). */
  start(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#ticking = this.refresh().catch((err: unknown) => {
        if (!this.#stopped) this.#display.event('site', `status poll failed: ${(err as Error).message}`, 'deny');
      }).finally(() => this.start());
    }, TICK_MS);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#ticking?.catch(() => undefined);
  }

  /** Re-reads every node's status and reports what changed: sync links, enrolment, agreement, anomalies. */
  refresh(): Promise<void> {
    // One read at a time, so a change is reported once however many are waiting on it.
    this.#refreshing ??= this.#read().finally(() => { this.#refreshing = undefined; });
    return this.#refreshing;
  }

  async #read(): Promise<void> {
    const d = this.#display;
    const agents = this.#agents();
    const fresh = new Map<NodeName, View>();
    await Promise.all([...agents].map(async ([name, proc]) => {
      if (!proc.running || !proc.url) return;
      try {
        fresh.set(name, await proc.get<View>('/status'));
      } catch { /* busy or stopping: the next poll asks again */ }
    }));
    if (this.#stopped) return;
    for (const [name, v] of fresh) {
      const before = this.#views.get(name);
      if (v.enrolment.enrolled && !before?.enrolment.enrolled) d.event(name, 'enrolled: its key is in org/node.add and it opened the site secret sealed to it', 'sync');
      const was = before?.sync?.state;
      const now = v.sync?.state;
      if (name !== 'hub' && was !== undefined && now !== was && (now === 'connected' || was === 'connected')) {
        d.event(name, now === 'connected' ? "sync: connected to the hub's broker" : 'sync: lost the broker; deciding alone from its own replica', 'sync');
      }
      this.#views.set(name, v);
    }
    // A badge's access event reaches every replica within a poll or two: only a longer catch-up is news.
    if (this.agree([...agents.keys()])) {
      if (this.#disagreeSince !== undefined && Date.now() - this.#disagreeSince > 1500 && this.#waiters === 0) {
        d.event('sync', `all ${agents.size + 1} replicas agree again: state ${this.#desk.ledger.stateHash().slice(0, 8)}, ${this.#desk.ledger.count()} events`, 'sync');
      }
      this.#disagreeSince = undefined;
    } else {
      this.#disagreeSince ??= Date.now();
    }
    this.reportAnomalies();
  }

  /** The desk and the given nodes hold the same state (as of the last status read). */
  agree(names: NodeName[]): boolean {
    const mine = this.#desk.ledger.stateHash();
    return names.every((n) => this.#views.get(n)?.ledger?.state_hash === mine);
  }

  /** Runs `fn` as someone who reports agreement in their own words (no "agree again" line meanwhile). */
  async quietly<T>(fn: () => Promise<T>): Promise<T> {
    this.#waiters += 1;
    try {
      return await fn();
    } finally {
      this.#waiters -= 1;
    }
  }

  /** Waits until the given nodes agree with the desk; false on timeout. */
  waitAgree(names: NodeName[], timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    return this.quietly(async () => {
      for (;;) {
        await this.refresh();
        if (this.agree(names)) return true;
        if (Date.now() > end || this.#stopped) return false;
        await sleep(150);
      }
    });
  }

  /** New "granted offline after revocation" flags on the desk's replica, shown once each. */
  reportAnomalies(): void {
    const all = this.#desk.anomalies();
    for (const a of all.slice(this.#anomaliesShown)) {
      const who = nameOf(a.member) ?? a.member;
      this.#display.event('sync', `ANOMALY  ${a.node} let ${who} in at ${placeOf(a.resource)} at ${clock(a.granted_at.ms)} while cut off, after a revocation it could not know `
        + `(${a.revocation_kind} at ${clock(a.revoked_at.ms)}): the grant stays in the ledger, flagged on every replica (gdo access anomalies)`, 'alarm');
    }
    this.#anomaliesShown = all.length;
  }
}
