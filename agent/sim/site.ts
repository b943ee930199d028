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
import { narrate, OutputNarrator } from './narrate.ts';
import { Replicas, sleep, type View } from './replicas.ts';
import { prepareNode, type NodeRoot } from './node-root.ts';
import { DESK, issueCards, NODES, SIM_BROKER_HOST, siteZone, type NodeName, type NodePlan, type Person } from './plan.ts';

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
  #replicas: Replicas | undefined;
  /** Log lines of agents that have not logged their status address yet. */
  readonly #early = new Map<NodeName, LogLine[]>(NODES.map((p) => [p.name, []]));
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

  /** The replicas' watcher, once the site is up to its agents. */
  get replicas(): Replicas {
    if (!this.#replicas) throw new Error('the site has not started');
    return this.#replicas;
  }

  view(name: NodeName): View | undefined { return this.#replicas?.view(name); }

  /** A node can reach the hub's broker (and so the desk and the other nodes). */
  reachable(name: NodeName): boolean {
    return !this.cut.has('hub') && !this.cut.has(name);
  }

  async start(): Promise<void> {
    const d = this.display;
    const zone = siteZone(new Date());
    this.tz = zone.tz;
    const desk = AdminDesk.init(join(this.dir, DESK), zone.tz);
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
      // MQTT over TLS, verified against the site CA as on a real site: the hub's certificate names 127.0.0.1 too.
      const broker = link ? `mqtts://${SIM_BROKER_HOST}:${link.port}` : 'embedded';
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
    const deskUrl = `mqtts://${SIM_BROKER_HOST}:${links.get(DESK)!.port}`;
    await desk.startSync(deskUrl);
    const replicas = new Replicas(d, desk, () => new Map([...this.nodes].map(([name, n]) => [name, n.proc])));
    this.#replicas = replicas;
    replicas.start();

    const names = NODES.map((p) => p.name);
    const approved = new Set<string>();
    const deadline = Date.now() + START_TIMEOUT_MS;
    await replicas.quietly(async () => {
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
    });
    d.event('site', `ready in ${((Date.now() - this.startedAt) / 1000).toFixed(1)} s: every node enrolled, every replica at state ${this.desk.ledger.stateHash().slice(0, 8)}`, 'sync');
  }

  #approved(a: Approval): void {
    this.display.event(DESK, `gdo node approve ${a.name}: key ${a.key.slice(0, 8)} enrolled as ${a.roles.join(',')}, site secret sealed to the node (event ${a.event.slice(0, 8)})`);
  }

  #allReady(): boolean {
    if (this.nodes.size < NODES.length || !this.replicas.agree([...this.nodes.keys()])) return false;
    return [...this.nodes.keys()].every((n) => { const v = this.view(n); return v?.ready === true && v.enrolment.enrolled; });
  }

  #startProblems(approved: Set<string>): string {
    return [...this.nodes.values()].map((n) => {
      const v = this.view(n.plan.name);
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
    await this.#replicas?.stop();
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
