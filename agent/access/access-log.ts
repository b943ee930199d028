// The node's side of the access log: turns what the controllers report (EventSink records) into
// events signed by this node, and commits them in groups. Everything recorded in one turn of the
// event loop goes into one transaction, so a badge costs at most one fsync however busy the
// node is (group commit); an error never reaches the controller that reported.
import type { Json } from '../ledger/canonical-json.ts';
import type { Signer } from '../ledger/crypto.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { machineKey, type Machine } from '../../dapps/machine/index.ts';
import { follows } from '../../dapps/shared/guards.ts';
import { certificationBody } from './certify-check.ts';
import type { AccessService } from './decide.ts';

export interface LogItem { dapp: string; type: string; body: Json }
type Body = Record<string, Json | undefined>;
const item = (dapp: string, type: string, body: Body): LogItem => ({ dapp, type, body: JSON.parse(JSON.stringify(body)) as Json });

export interface AccessLogOptions {
  ledger: Ledger;
  signer: Signer;
  service?: AccessService;
  /** Called with a one-line description when events could not be logged (never a badge id). */
  onError?: (message: string) => void;
  /** Test hook: schedule a flush; defaults to setImmediate (end of this event-loop turn). */
  schedule?: (fn: () => void) => void;
}

export class AccessLog {
  readonly stats = { queued: 0, committed: 0, transactions: 0, rejected: 0, dropped: 0 };
  private queue: LogItem[] = [];
  private scheduled = false;
  private closed = false;
  private readonly o: AccessLogOptions;

  constructor(o: AccessLogOptions) { this.o = o; }

  /** EventSink: the controllers' vocabulary, mapped to ledger events. */
  record(kind: string, body: Record<string, unknown>): void {
    try {
      const item = this.translate(kind, body);
      if (item) this.enqueue(item);
    } catch (e) {
      this.o.onError?.(`access log: cannot record ${kind}: ${(e as Error).message}`);
    }
  }

  enqueue(item: LogItem): void {
    if (this.closed) { this.stats.dropped++; return; }
    this.queue.push(item);
    this.stats.queued++;
    if (this.scheduled) return;
    this.scheduled = true;
    // While the ledger's writer thread holds a peer's batch (and perhaps the write lock), the
    // group waits for it to finish rather than blocking this thread on the lock.
    (this.o.schedule ?? setImmediate)(() => this.o.ledger.whenWriterIdle(() => { this.scheduled = false; this.flush(); }));
  }

  /** Commits what is queued: one transaction; if the batch is refused, event by event. */
  flush(): void {
    const items = this.queue;
    this.queue = [];
    if (items.length === 0) return;
    const { ledger, signer } = this.o;
    try {
      const { results } = ledger.appendBatch(signer, items, { atomic: true });
      this.stats.transactions++;
      if (results.every((r) => r.status === 'accepted' || r.status === 'duplicate')) { this.stats.committed += items.length; return; }
      // One bad item must not cost the others: a chain whose link is refused would leave the rest
      // pending forever, so each is appended on its own.
      for (const it of items) {
        const { result } = ledger.append(signer, it.dapp, it.type, it.body);
        this.stats.transactions++;
        if (result.status === 'accepted') this.stats.committed++;
        else { this.stats.rejected++; this.o.onError?.(`access log: ${it.dapp}/${it.type} refused: ${result.code ?? result.status}: ${result.message ?? ''}`); }
      }
    } catch (e) {
      this.stats.dropped += items.length;
      this.o.onError?.(`access log: ${items.length} events not written: ${(e as Error).message}`);
    }
  }

  /** Flushes and refuses further records (SIGTERM: pending writes committed before the database closes). */
  close(): void {
    this.flush();
    this.closed = true;
  }

  private translate(kind: string, b: Record<string, unknown>): LogItem | null {
    const str = (k: string): string | undefined => (typeof b[k] === 'string' ? (b[k] as string) : undefined);
    const at = str('at') !== undefined ? Date.parse(str('at')!) : undefined;
    const when: { at?: number } = at !== undefined && Number.isFinite(at) ? { at } : {};
    const door = str('door');
    const machine = str('machine');
    const resource = str('resource') ?? (door !== undefined ? `door:${door}` : machine !== undefined ? `machine:${machine}` : undefined);
    if (resource === undefined) throw new Error('no door or machine named');
    const detail = (...parts: Array<string | undefined>): { detail?: string } => {
      const d = parts.filter((p) => p !== undefined).join(': ');
      return d ? { detail: d.slice(0, 200) } : {};
    };
    switch (kind) {
      case 'door.access':
      case 'machine.access': {
        const member = str('member_id');
        const d = this.o.service?.lastDecision(resource);
        const same = d !== undefined && d.memberId === member;
        const body: Record<string, Json> = { resource, allow: b['allow'] === true, reason: String(b['reason'] ?? 'unknown').slice(0, 64) };
        const rule = str('rule');
        if (rule !== undefined) body['rule'] = rule.slice(0, 200);
        if (member !== undefined) body['member'] = member;
        if (same && d.badge !== undefined) body['badge'] = d.badge;
        if (same && d.ver !== undefined) body['ver'] = d.ver;
        if (same && d.mver !== undefined) body['mver'] = d.mver;
        if (same && d.known !== undefined && d.known.length) body['known'] = d.known;
        // What a grant relied on, so a merge can tell which withdrawals it did not know (dapps/access/anomaly.ts).
        if (same && body['allow'] === true) {
          if (d.cver !== undefined) body['cver'] = d.cver;
          const roles = (d.roles ?? []).filter((r) => r === 'trainer' || r === 'maintainer');
          if (roles.length) body['roles'] = roles;
          body['v'] = 2;
        }
        return { dapp: 'access', type: 'decision', body };
      }
      case 'door.forced_open': return item('access', 'alarm', { resource, kind: 'forced_open', ...when });
      case 'door.held_open': return item('access', 'alarm', { resource, kind: 'held_open', ...when });
      case 'door.alarm_cleared': return item('access', 'alarm', { resource, kind: 'alarm_cleared', ...detail(str('alarm')), ...when });
      case 'door.fault':
      case 'machine.fault': return item('access', 'alarm', { resource, kind: 'fault', ...detail(str('fault'), str('detail')), ...when });
      case 'door.fault_cleared':
      case 'machine.fault_cleared': return item('access', 'alarm', { resource, kind: 'fault_cleared', ...detail(str('fault')), ...when });
      case 'door.mode': return item('access', 'note', { resource, kind: 'mode', ...detail(str('mode')), ...when });
      case 'door.rex': return item('access', 'note', { resource, kind: 'rex', ...when });
      case 'machine.session': {
        const start = Date.parse(str('start') ?? '');
        const end = Date.parse(str('end') ?? '');
        if (!Number.isFinite(start) || !Number.isFinite(end)) throw new Error('session without start or end');
        const member = str('member_id');
        return {
          dapp: 'access', type: 'session',
          body: { resource, ...(member !== undefined && { member }), start, end, duration_ms: Math.max(0, end - start), end_reason: String(b['end_reason'] ?? 'ended').slice(0, 40), extensions: Number(b['extensions'] ?? 0) },
        };
      }
      case 'machine.certification': {
        const id = machine ?? resource.slice('machine:'.length);
        const member = str('member_id');
        const trainer = str('trainer_id');
        if (member === undefined || trainer === undefined) throw new Error('certification without trainer and member');
        // The trainee's card, from the decision the controller just had for them (never the UID).
        const d = this.o.service?.lastDecision(resource);
        const badge = d !== undefined && d.memberId === member ? d.badge : undefined;
        return item('machine', 'certify', { ...certificationBody(this.o.ledger, id, member, trainer, badge) });
      }
      // A refusal at the machine was never to be signed (agent/access/certify-check.ts); the agent logs it.
      case 'machine.certification_refused': return null;
      case 'machine.out_of_service':
      case 'machine.in_service': {
        const id = machine ?? resource.slice('machine:'.length);
        const by = str('member_id') ?? str('by');
        if (kind === 'machine.out_of_service') return item('machine', 'out', { machine: id, reason: str('reason') ?? 'tagged out at the machine', ...(by !== undefined && { by }) });
        const m = this.o.ledger.get<Machine>(machineKey(id));
        return item('machine', 'in', { machine: id, ...(by !== undefined && { by }), ...follows(m) });
      }
      default:
        throw new Error(`unknown kind '${kind}'`);
    }
  }
}
