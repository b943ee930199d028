// The simulated maker space (issue 6, "Simulated site"): an admin desk, a hub with the embedded broker, a
// front-door node and a laser lockout node, each node a `gdo agent` process of its own on simulated PN532
// readers and fake GPIO. Brought up the way a real site is: gdo init, gdo provision, first boot, the
// agents, approval of their enrolment requests with the site secret sealed to each, and the seed reaching
// every node by sync. hands.ts then lets a person badge, open doors, certify, cut links and heal them.
import { join } from 'node:path';
import { AdminDesk, type Approval } from './admin-desk.ts';
import { AgentProc, type LogLine } from './agent-proc.ts';
import type { Display } from './display.ts';
import { GpioWatch, readOutputs } from './gpio-watch.ts';
import { NetLink } from './net-link.ts';
import { nameOf, narrate, OutputNarrator, placeOf } from './narrate.ts';
import { prepareNode, type NodeRoot } from './node-root.ts';
import { DESK, issueCards, NODES, siteZone, type NodeName, type NodePlan, type Person } from './plan.ts';

/** What the site reads from each agent's /status. */
export interface View {
  ready: boolean;
  enrolment: { enrolled: boolean };
  ledger: { state_hash: string; events: number } | null;
  sync: { state: string; peers: { name: string; connected?: boolean }[] } | null;
  doors: { id: string; unlocked: boolean; open: boolean; mode: string; alarms: { forced_open: boolean; held_open: boolean } }[];
  machines: { id: string; relay: boolean; session?: { member_id?: string } | null; trainer_window: boolean; out_of_service: boolean }[];
}

export interface SimNode {
  plan: NodePlan;
  root: NodeRoot;
  proc: AgentProc;
  /** Its way to the hub's broker (the hub has none: the broker is inside it). */
  link: NetLink | undefined;
  watch: GpioWatch | undefined;
  outputs: OutputNarrator;
}

export interface StopReport { node: string; code: number | null; signal: string | null; killed: boolean; outputsSafe: boolean | undefined }

const START_TIMEOUT_MS = 90_000;
const TICK_MS = 300;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function clock(ms: number): string {
  const t = new Date(ms);
  return [t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

export class SimSite {
  readonly dir: string;
  readonly display: Display;
  readonly cards = issueCards();
  readonly nodes = new Map<NodeName, SimNode>();
  readonly cut = new Set<NodeName>();
  /** Who the site last put in front of each node's reader. */
  readonly presented = new Map<NodeName, Person>();
  readonly startedAt = Date.now();
  tz = '';
  #desk: AdminDesk | undefined;
  #deskLink: NetLink | undefined;
  readonly #links: NetLink[] = [];
  #views = new Map<NodeName, View>();
  /** Log lines of agents that have not logged their status address yet. */
  readonly #early = new Map<NodeName, LogLine[]>(NODES.map((p) => [p.name, []]));
  /** Since when the replicas have disagreed (as of the last status read). */
  #disagreeSince: number | undefined;
  /** Someone waits for agreement and reports it in their own words (start, revoke, heal). */
  #waiters = 0;
  #refreshing: Promise<void> | undefined;
  #anomaliesShown = 0;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #stopping = false;

  constructor(dir: string, display: Display) {
    this.dir = dir;
    this.display = display;
  }

  get desk(): AdminDesk {
    if (!this.#desk) throw new Error('the site has not started');
    return this.#desk;
  }

  node(name: NodeName): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new Error(`no node '${name}'`);
    return n;
  }

  view(name: NodeName): View | undefined { return this.#views.get(name); }

  /** A node can reach the hub's broker (and so the desk and the other nodes). */
  reachable(name: NodeName): boolean {
    return !this.cut.has('hub') && !this.cut.has(name);
  }

  async start(): Promise<void> {
    const d = this.display;
    const zone = siteZone(new Date());
    this.tz = zone.tz;
    const desk = AdminDesk.init(join(this.dir, DESK));
    this.#desk = desk;
    d.event(DESK, `gdo init: operator key, site secret, genesis ${desk.org.slice(0, 8)}`, 'dim');
    const seeded = desk.seed(this.cards, zone.tz);
    d.event(DESK, `seeded ${seeded} signed events: 6 members with badges, the front door with 3 rules, open hours and an evening pass `
      + `(${zone.tz}, ${zone.local} there now), the laser cutter (certificate required), trainer Carol, maintainer Dan, Erin suspended`, 'dim');

    // Every node but the hub (which holds the broker) and the desk reach the broker through a link.
    const links = new Map<string, { link: NetLink; port: number }>();
    for (const name of ['front-door', 'laser', DESK]) {
      const link = new NetLink(name);
      this.#links.push(link);
      links.set(name, { link, port: await link.listen() });
    }
    this.#deskLink = links.get(DESK)!.link;
    for (const plan of NODES) {
      const link = links.get(plan.name);
      const broker = link ? `mqtt://127.0.0.1:${link.port}` : 'embedded';
      const root = await prepareNode(desk, plan, broker, join(this.dir, plan.name));
      const proc = new AgentProc(plan.name, root.config, join(root.root, 'var/log/gdo-agent.log'));
      const outputs = new OutputNarrator(d, plan.name);
      const watch = root.gpioFile ? new GpioWatch(root.gpioFile, (c) => { if (!this.#stopping) outputs.change(c); }) : undefined;
      this.nodes.set(plan.name, { plan, root, proc, link: link?.link, watch, outputs });
    }
    d.event(DESK, 'provisioned hub, front-door and laser (gdo provision --target); first boot ran on each: its own keys, the genesis, a signed enrolment request', 'dim');

    for (const n of this.nodes.values()) {
      n.proc.on('line', (l) => this.#onLine(n.plan.name, l));
      n.proc.on('exit', (code, signal) => {
        if (!this.#stopping) d.event(n.plan.name, `agent exited unexpectedly (${signal ?? `code ${String(code)}`})${n.proc.stderr ? `: ${n.proc.stderr.trim()}` : ''}`, 'deny');
      });
      n.watch?.start();
      n.proc.start();
    }
    const hub = this.node('hub');
    const listening = await hub.proc.waitFor((l) => /^embedded broker listening on /.test(l.msg), 'embedded broker', START_TIMEOUT_MS);
    const brokerPort = Number(/:(\d+)$/.exec(String(listening['listen']))?.[1]);
    for (const link of this.#links) link.setUpstream(brokerPort);
    for (const n of this.nodes.values()) await n.proc.waitFor((l) => typeof l['http'] === 'object', 'status endpoint', START_TIMEOUT_MS);
    const deskUrl = `mqtt://127.0.0.1:${links.get(DESK)!.port}`;
    await desk.startSync(deskUrl);
    this.#schedule();

    const names = NODES.map((p) => p.name);
    const approved = new Set<string>();
    const deadline = Date.now() + START_TIMEOUT_MS;
    this.#waiters += 1;
    try {
      while (!this.#allReady()) {
        if (this.#stopping) throw new Error('stopped while starting');
        if (Date.now() > deadline) throw new Error(`the site did not come up within ${START_TIMEOUT_MS / 1000} s: ${this.#startProblems(approved)}`);
        if (approved.size < names.length) {
          for (const a of await desk.approveWaiting(deskUrl, names)) {
            approved.add(a.name);
            this.#approved(a);
          }
        }
        await sleep(200);
      }
    } finally {
      this.#waiters -= 1;
    }
    d.event('site', `ready in ${((Date.now() - this.startedAt) / 1000).toFixed(1)} s: every node enrolled, every replica at state ${this.desk.ledger.stateHash().slice(0, 8)}`, 'sync');
  }

  #approved(a: Approval): void {
    this.display.event(DESK, `gdo node approve ${a.name}: key ${a.key.slice(0, 8)} enrolled as ${a.roles.join(',')}, site secret sealed to the node (event ${a.event.slice(0, 8)})`);
  }

  #allReady(): boolean {
    if (this.nodes.size < NODES.length || !this.#agree([...this.nodes.keys()])) return false;
    return [...this.nodes.keys()].every((n) => { const v = this.#views.get(n); return v?.ready === true && v.enrolment.enrolled; });
  }

  #startProblems(approved: Set<string>): string {
    return [...this.nodes.values()].map((n) => {
      const v = this.#views.get(n.plan.name);
      if (!n.proc.running) return `${n.plan.name} exited${n.proc.stderr ? ` (${n.proc.stderr.trim().split('\n').pop() ?? ''})` : ''}`;
      if (!v) return `${n.plan.name} no status`;
      return `${n.plan.name} ${v.ready ? 'ready' : 'not ready'}, ${approved.has(n.plan.name) ? 'approved' : 'no request seen'}, ${v.enrolment.enrolled ? 'enrolled' : 'not enrolled'}, sync ${v.sync?.state ?? 'off'}`;
    }).join('; ');
  }

  #onLine(node: NodeName, l: LogLine): void {
    if (this.#stopping) return;
    const n = this.node(node);
    // What an agent says while starting is shown after the line saying it is up (its status address).
    const early = this.#early.get(node);
    if (early && typeof l['http'] !== 'object') { early.push(l); return; }
    if (early) {
      this.#early.delete(node);
      const ready = early.find((x) => x.msg === 'ready for badges');
      this.display.event(node, `agent up (pid ${String(n.proc.pid)}${ready ? `, ready ${String(ready['ready_ms'])} ms after its start` : ''}): ${n.plan.what}; status ${n.proc.url!}/status`, 'dim');
      for (const x of early) if (x !== ready) this.#onLine(node, x);
      return;
    }
    if (/^embedded broker listening on /.test(l.msg)) {
      this.display.event(node, `embedded MQTT broker on ${String(l['listen'])}; the other nodes and the office reach it through their links`, 'dim');
      return;
    }
    // A decision starts a new LED and buzzer pattern: what played before belongs to the one before.
    if (typeof l['decision'] === 'object' || l['event'] === 'machine.certification') n.outputs.flush();
    narrate(this.display, node, l, {
      holder: (n) => this.presented.get(n as NodeName)?.name,
      offline: (n) => !this.reachable(n as NodeName),
    });
  }

  // ---- watching the nodes ----------------------------------------------------------------------

  #schedule(): void {
    if (this.#stopping) return;
    this.#timer = setTimeout(() => {
      this.#ticking = this.refresh().catch((err: unknown) => {
        if (!this.#stopping) this.display.event('site', `status poll failed: ${(err as Error).message}`, 'deny');
      }).finally(() => this.#schedule());
    }, TICK_MS);
  }

  /** Re-reads every node's status and reports what changed: sync links, enrolment, agreement, anomalies. */
  refresh(): Promise<void> {
    // One read at a time, so a change is reported once however many are waiting on it.
    this.#refreshing ??= this.#read().finally(() => { this.#refreshing = undefined; });
    return this.#refreshing;
  }

  async #read(): Promise<void> {
    const d = this.display;
    const fresh = new Map<NodeName, View>();
    await Promise.all([...this.nodes.values()].map(async (n) => {
      if (!n.proc.running || !n.proc.url) return;
      try {
        fresh.set(n.plan.name, await n.proc.get<View>('/status'));
      } catch { /* busy or stopping: the next poll asks again */ }
    }));
    if (this.#stopping) return;
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
    if (this.#agree([...this.nodes.keys()])) {
      if (this.#disagreeSince !== undefined && Date.now() - this.#disagreeSince > 1500 && this.#waiters === 0) {
        d.event('sync', `all ${this.nodes.size + 1} replicas agree again: state ${this.desk.ledger.stateHash().slice(0, 8)}, ${this.desk.ledger.count()} events`, 'sync');
      }
      this.#disagreeSince = undefined;
    } else {
      this.#disagreeSince ??= Date.now();
    }
    this.reportAnomalies();
  }

  /** The desk and the given nodes hold the same state (as of the last status read). */
  #agree(names: NodeName[]): boolean {
    const mine = this.#desk?.ledger.stateHash();
    return names.every((n) => this.#views.get(n)?.ledger?.state_hash === mine);
  }

  /** Waits until the given nodes agree with the desk; false on timeout. */
  async waitAgree(names: NodeName[], timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    this.#waiters += 1;
    try {
      for (;;) {
        await this.refresh();
        if (this.#agree(names)) return true;
        if (Date.now() > end || this.#stopping) return false;
        await sleep(150);
      }
    } finally {
      this.#waiters -= 1;
    }
  }

  /** New "granted offline after revocation" flags on the desk's replica, shown once each. */
  reportAnomalies(): void {
    const all = this.desk.anomalies();
    for (const a of all.slice(this.#anomaliesShown)) {
      const who = nameOf(a.member) ?? a.member;
      this.display.event('sync', `ANOMALY  ${a.node} let ${who} in at ${placeOf(a.resource)} at ${clock(a.granted_at.ms)} while cut off, after a revocation it could not know `
        + `(${a.revocation_kind} at ${clock(a.revoked_at.ms)}): the grant stays in the ledger, flagged on every replica (gdo access anomalies)`, 'alarm');
    }
    this.#anomaliesShown = all.length;
  }

  /** Applies the cut set to the links: a node reaches the broker only if neither it nor the hub is cut. */
  applyLinks(): void {
    for (const n of this.nodes.values()) {
      if (!n.link) continue;
      if (this.reachable(n.plan.name)) n.link.heal();
      else n.link.cut();
    }
    if (this.cut.has('hub')) this.#deskLink?.cut();
    else this.#deskLink?.heal();
  }

  // ---- shutting down ---------------------------------------------------------------------------

  /** SIGTERM every agent and wait; outputs checked from the fake GPIO files the agents leave behind. */
  async stop(): Promise<StopReport[]> {
    this.#stopping = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#ticking?.catch(() => undefined);
    for (const n of this.nodes.values()) { n.outputs.flush(); n.watch?.stop(); }
    const stopOne = async (n: SimNode): Promise<StopReport> => {
      const r = await n.proc.stop();
      const outs = n.root.gpioFile ? [...readOutputs(n.root.gpioFile).values()] : undefined;
      return { node: n.plan.name, code: r.code, signal: r.signal, killed: r.killed, outputsSafe: outs && outs.every((o) => o.level === 0) };
    };
    // The clients before the broker: a node whose broker vanished waits out its goodbye before exiting.
    await this.#desk?.stopSync();
    const leaves = [...this.nodes.values()].filter((n) => n.plan.name !== 'hub');
    const reports = await Promise.all(leaves.map(stopOne));
    const hub = this.nodes.get('hub');
    if (hub) reports.unshift(await stopOne(hub));
    for (const link of this.#links) await link.close();
    this.#desk?.close();
    return reports;
  }

  /** A second Ctrl-C: no more waiting. */
  kill(): void {
    for (const n of this.nodes.values()) n.proc.kill();
  }
}
