// What a person can do at the simulated site: badge a card at the door or the laser, take it off, open,
// hold and close the door, press the exit button, certify a member at the laser, revoke a badge or
// suspend a member from the office, and cut a node off the network and heal it. Each waits for its
// outcome (the decision, the alarm, the merge), so a script reads like what happened.
import { accessCommands } from '../cli/access-cmds.ts';
import { parseArgs } from '../cli/args.ts';
import { makeOutput } from '../cli/output.ts';
import type { LogLine } from './agent-proc.ts';
import { nameOf, reasonText, type DecisionLine } from './narrate.ts';
import { DESK, DOOR, LASER, PEOPLE, PINS, TIMINGS, type NodeName, type Person, type Target } from './plan.ts';
import { sleep, type View } from './replicas.ts';
import type { SimSite } from './site.ts';

const DECISION_TIMEOUT_MS = 10_000;
/** The reader reports a card gone after two empty polls; wait a little more before the next card. */
const LIFT_MS = TIMINGS.poll_ms * 4;
const MERGE_TIMEOUT_MS = 30_000;

export class UserError extends Error {}

const nodeOf = (t: Target): NodeName => (t === 'door' ? DOOR.node : LASER.node);
const readerOf = (t: Target): string => (t === 'door' ? 'entry' : 'laser');

export class Hands {
  readonly #site: SimSite;
  /** Cards lying on a reader (the laser runs while its card stays there). */
  readonly #onReader = new Map<Target, Person>();
  #doorOpen = false;
  /** The laser runs a session for the card on its reader (card-present mode). */
  #session = false;

  constructor(site: SimSite) {
    this.#site = site;
  }

  #say(source: string, text: string, tone: Parameters<SimSite['display']['event']>[2] = 'note'): void {
    this.#site.display.event(source, text, tone);
  }

  #uid(p: Person): string {
    return this.#site.cards.get(p.id)!.toString('hex');
  }

  /** Presents `p`'s card and waits for the node's answer: its decision, or a certification at the laser. */
  async #present(p: Person, t: Target): Promise<LogLine> {
    const node = this.#site.node(nodeOf(t));
    if (this.#onReader.has(t)) await this.remove(t);
    this.#site.presented.set(node.plan.name, p);
    const answered = node.proc.waitFor((l) => typeof l['decision'] === 'object' || l['event'] === 'machine.certification' || l['event'] === 'machine.certification_refused', `a decision from ${node.plan.name}`, DECISION_TIMEOUT_MS, false);
    await node.proc.sim('POST', `/sim/readers/${readerOf(t)}/card`, { uid: this.#uid(p) });
    this.#onReader.set(t, p);
    const l = await answered;
    if (t === 'laser') this.#session = (l['decision'] as DecisionLine | undefined)?.allow === true;
    return l;
  }

  /** A tap at the door; at the laser the card stays on the reader (card-present) until `remove laser`. */
  async badge(p: Person, t: Target): Promise<DecisionLine | undefined> {
    const l = await this.#present(p, t);
    const d = l['decision'] as DecisionLine | undefined;
    // A refused card is taken away again; a granted one stays on the laser for its session.
    if (t === 'door' || !d?.allow) await this.remove(t);
    await this.#site.node(nodeOf(t)).outputs.idle(1500); // strike, relay and LED lines before the next command
    return d;
  }

  async remove(t: Target): Promise<void> {
    const node = this.#site.node(nodeOf(t));
    const was = this.#onReader.get(t);
    this.#onReader.delete(t);
    const session = t === 'laser' && this.#session;
    this.#session = false;
    const ended = session ? node.proc.waitFor((l) => l['event'] === 'machine.session', 'the session to end', 5000, false) : undefined;
    await node.proc.sim('DELETE', `/sim/readers/${readerOf(t)}/card`);
    if (!was && t === 'laser') this.#say(node.plan.name, 'no card on the laser reader', 'dim');
    await (ended ?? Promise.resolve()).catch(() => undefined);
    await sleep(LIFT_MS);
  }

  async setDoor(open: boolean): Promise<void> {
    const door = this.#site.node(DOOR.node);
    if (open === this.#doorOpen) this.#say(DOOR.node, `the door is already ${open ? 'open' : 'closed'}`, 'dim');
    await door.proc.sim('POST', `/sim/gpio/${PINS.door.door_switch}`, { level: open ? 1 : 0 });
    this.#doorOpen = open;
    this.#say(DOOR.node, open ? 'door opened (reed switch)' : 'door closed (reed switch)', 'dim');
    await sleep(300); // a forced-open alarm or an early relock shows before the next command
  }

  /** Opens the door (if closed) and keeps it open until the held-open alarm. */
  async hold(): Promise<void> {
    const door = this.#site.node(DOOR.node);
    if (this.#site.view(DOOR.node)?.doors[0]?.alarms.held_open) {
      this.#say(DOOR.node, 'the held-open alarm is already on: close the door to clear it', 'dim');
      return;
    }
    const alarm = door.proc.waitFor((l) => l['event'] === 'door.held_open', 'the held-open alarm', TIMINGS.held_open_ms + 5000, false);
    if (!this.#doorOpen) await this.setDoor(true);
    this.#say(DOOR.node, `holding the door open (the alarm comes after ${TIMINGS.held_open_ms / 1000} s)...`, 'dim');
    await alarm;
    await sleep(200);
  }

  async rex(): Promise<void> {
    const door = this.#site.node(DOOR.node);
    const pressed = door.proc.waitFor((l) => l['event'] === 'door.rex', 'the exit button to be seen', 5000, false);
    // Wired active low: pressing pulls the line to 0, letting go lets the pull-up bring it back to 1.
    await door.proc.sim('POST', `/sim/gpio/${PINS.door.rex}`, { level: 0 });
    await pressed;
    await door.proc.sim('POST', `/sim/gpio/${PINS.door.rex}`, { level: 1 });
    await sleep(200);
  }

  /** The trainer badges (the machine opens a certification window), then the member within the window. */
  async certify(trainer: Person, member: Person): Promise<void> {
    if (trainer.id === member.id) throw new UserError('a trainer and a different member, e.g. certify carol alice');
    const t = await this.#present(trainer, 'laser');
    const d = t['decision'] as DecisionLine | undefined;
    await sleep(150);
    await this.remove('laser');
    if (!d?.allow || !/trainer/.test(d.rule ?? '')) {
      this.#say(LASER.node, `${trainer.name} is not a trainer on the laser (${d ? reasonText(d.reason) : 'no decision'}): no certification window`, 'deny');
      return;
    }
    this.#say(LASER.node, `${trainer.name} is a trainer: the laser opens a ${TIMINGS.certify_window_ms / 1000} s window; ${member.name} badges now`, 'dim');
    const m = await this.#present(member, 'laser');
    await sleep(150);
    await this.remove('laser');
    // A refusal has been shown with its reason (narrate.ts); anything else is no certification either.
    if (m['event'] !== 'machine.certification' && m['event'] !== 'machine.certification_refused') this.#say(LASER.node, `no certification for ${member.name}`, 'deny');
    await this.#site.node(LASER.node).outputs.idle(2000);
  }

  /** Revokes `p`'s badge (or suspends `p`) at the office and waits for it to reach every node it can reach. */
  async revoke(p: Person, how: 'badge' | 'suspend'): Promise<void> {
    if (!p.member) throw new UserError(`${p.name}'s card is not in the ledger; there is nothing to revoke`);
    const desk = this.#site.desk;
    const ev = how === 'badge'
      ? desk.staff.revokeBadge(desk.badgeOf(this.#site.cards.get(p.id)!), 'demo: card reported lost')
      : desk.staff.suspend(p.id, 'demo: suspended at the office');
    this.#say(DESK, `${how === 'badge' ? `revoked ${p.name}'s badge` : `suspended ${p.name}`} (a power event, ${ev.id.toString('hex').slice(0, 8)}): sent to the hub`, 'sync');
    await this.#reach();
  }

  async #reach(): Promise<void> {
    const names = [...this.#site.nodes.keys()];
    const reach = names.filter((n) => this.#site.reachable(n));
    const off = names.filter((n) => !this.#site.reachable(n));
    const t0 = Date.now();
    if (reach.length > 0 && !this.#site.cut.has('hub')) {
      const ok = await this.#site.replicas.waitAgree(reach, 8000);
      this.#say('sync', ok ? `reached ${reach.join(', ')} in ${((Date.now() - t0) / 1000).toFixed(1)} s` : `not yet at ${reach.join(', ')}`, ok ? 'sync' : 'note');
    }
    if (off.length > 0) this.#say('sync', `${off.join(', ')} ${off.length === 1 ? 'is' : 'are'} cut off: ${off.length === 1 ? 'it keeps' : 'they keep'} deciding from what ${off.length === 1 ? 'it' : 'they'} knew`, 'note');
  }

  cut(n: NodeName): void {
    if (this.#site.cut.has(n)) throw new UserError(`${n} is already cut off (heal ${n})`);
    this.#site.cut.add(n);
    this.#site.applyLinks();
    this.#say('net', n === 'hub'
      ? "cut the hub off: front-door, laser and the office lose the broker; each keeps working from its own replica"
      : `cut ${n} off the network: it loses the hub's broker and keeps deciding from its own replica`, 'alarm');
  }

  async heal(n: NodeName): Promise<void> {
    if (!this.#site.cut.has(n)) throw new UserError(`${n} is not cut off`);
    this.#site.cut.delete(n);
    this.#site.applyLinks();
    const back = [...this.#site.nodes.keys()].filter((x) => this.#site.reachable(x));
    this.#say('net', `healed ${n}: the link is back; its sync reconnects and reconciles by itself`, 'sync');
    const t0 = Date.now();
    if (!(await this.#site.replicas.waitAgree(back, MERGE_TIMEOUT_MS))) {
      this.#say('sync', `${back.join(', ')} not in agreement after ${MERGE_TIMEOUT_MS / 1000} s (status shows where they are)`, 'deny');
      return;
    }
    this.#say('sync', `merged in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${back.length + 1} replicas agree, state ${this.#site.desk.ledger.stateHash().slice(0, 8)} (${this.#site.desk.ledger.count()} events)`, 'sync');
    this.#site.replicas.reportAnomalies();
  }

  async status(): Promise<void> {
    const s = this.#site;
    await s.replicas.refresh();
    const rows: string[][] = [['node', 'agent', 'sync', 'replica', 'hardware']];
    for (const [name, n] of s.nodes) {
      const v = s.view(name);
      const sync = !v?.sync ? '-' : name === 'hub' ? `broker up; peers ${v.sync.peers.filter((p) => p.connected).map((p) => p.name).join(' ') || 'none'}`
        : s.reachable(name) ? v.sync.state : `${v.sync.state} (cut off)`;
      const hw = v?.doors[0] ? doorText(v.doors[0]) : v?.machines[0] ? machineText(v.machines[0]) : '-';
      const agent = !n.proc.running ? 'exited' : !v ? 'no answer' : `${v.ready ? 'ready' : 'starting'}${v.enrolment.enrolled ? ', enrolled' : ', not enrolled'}`;
      const same = v?.ledger?.state_hash === s.desk.ledger.stateHash();
      rows.push([name, agent, sync, v?.ledger ? `${v.ledger.state_hash.slice(0, 8)} ${same ? '(agrees)' : '(differs)'}` : '-', hw]);
    }
    const desk = s.desk;
    rows.push([DESK, 'admin desk', desk.syncConnected() ? 'connected' : 'no broker', `${desk.ledger.stateHash().slice(0, 8)} (${desk.ledger.count()} events)`, `${desk.anomalies().length} anomaly flag(s)`]);
    const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    s.display.text(rows.map((r, j) => { const line = r.map((c, i) => c.padEnd(w[i]!)).join('  ').trimEnd(); return j === 0 ? s.display.paint('head', line) : line; }).join('\n'));
  }

  people(): void {
    const s = this.#site;
    s.display.text(PEOPLE.map((p) => `  ${p.id.padEnd(9)} ${p.about}`).join('\n'));
    s.display.text(`  (time zone ${s.tz}; cards are random for this run and never shown)`, 'dim');
  }

  /** `gdo access log` / `gdo access anomalies` on the office's data directory, as staff would run them. */
  async cli(sub: 'log' | 'anomalies'): Promise<void> {
    // What the reachable nodes recorded a moment ago is on its way to the office: let it arrive.
    await this.#site.replicas.waitAgree([...this.#site.nodes.keys()].filter((n) => this.#site.reachable(n)), 3000);
    const cmd = accessCommands.find((c) => c.name === 'access')!;
    const args = parseArgs(['--data', this.#site.desk.dir, ...(sub === 'log' ? ['--limit', '12'] : [])]);
    this.#site.display.text(`$ gdo access ${sub} --data ${this.#site.desk.dir}${sub === 'log' ? ' --limit 12' : ''}`, 'dim');
    await cmd.run(sub, args, makeOutput(false));
  }
}

function doorText(d: View['doors'][number]): string {
  const alarms = [d.alarms.forced_open && 'FORCED OPEN', d.alarms.held_open && 'HELD OPEN'].filter(Boolean).join(', ');
  return `door ${d.unlocked ? 'unlocked' : 'locked'}, ${d.open ? 'open' : 'closed'}${alarms ? `, ${alarms}` : ''}${d.mode !== 'normal' ? `, ${d.mode}` : ''}`;
}

function machineText(m: View['machines'][number]): string {
  const who = m.session?.member_id ? `, in use by ${nameOf(m.session.member_id) ?? '?'}` : '';
  return `laser relay ${m.relay ? 'on' : 'off'}${who}${m.trainer_window ? ', certification window open' : ''}${m.out_of_service ? ', OUT OF SERVICE' : ''}`;
}
