// The sink every controller writes to. It logs each event, counts decisions for /metrics, keeps the last
// few for /status, and hands the event on to the access service's sink (which signs it into the ledger).
// It never throws: a failing ledger write is reported as a ledger fault (outputs safe, badges denied)
// instead of breaking the controller that recorded it. Bodies carry member ids, never badge UIDs
// (agent/controllers/types.ts EventSink); the logger scrubs them anyway.
import type { EventSink } from '../controllers/types.ts';
import type { Logger } from './log.ts';

export interface DecisionRecord {
  at: string;
  kind: string;
  resource: string;
  allow: boolean;
  reason: string;
  rule?: string;
  member_id?: string;
}

export interface ObservedSinkOptions {
  inner: () => EventSink | undefined;
  log: Logger;
  /** The inner sink threw: the ledger could not take the event. */
  onWriteError: (err: unknown, kind: string) => void;
  keep?: number;
}

export class ObservedSink implements EventSink {
  readonly #o: ObservedSinkOptions;
  readonly #keep: number;
  readonly #recent: DecisionRecord[] = [];
  /** "result\0reason\0kind" -> count */
  readonly decisions = new Map<string, number>();
  /** event kind -> count */
  readonly events = new Map<string, number>();
  writeErrors = 0;

  constructor(opts: ObservedSinkOptions) {
    this.#o = opts;
    this.#keep = opts.keep ?? 20;
  }

  record(kind: string, body: Record<string, unknown>): void {
    this.events.set(kind, (this.events.get(kind) ?? 0) + 1);
    if (kind.endsWith('.access')) this.#decision(kind, body);
    else this.#o.log.info({ event: kind, ...body }, kind);
    try {
      this.#o.inner()?.record(kind, body);
    } catch (err) {
      this.writeErrors += 1;
      this.#o.onWriteError(err, kind);
    }
  }

  recent(): DecisionRecord[] {
    return [...this.#recent].reverse();
  }

  #decision(kind: string, body: Record<string, unknown>): void {
    const d: DecisionRecord = {
      at: typeof body['at'] === 'string' ? body['at'] : new Date().toISOString(),
      kind,
      resource: String(body['resource'] ?? ''),
      allow: body['allow'] === true,
      reason: String(body['reason'] ?? ''),
      ...(typeof body['rule'] === 'string' && { rule: body['rule'] }),
      ...(typeof body['member_id'] === 'string' && { member_id: body['member_id'] }),
    };
    this.#recent.push(d);
    if (this.#recent.length > this.#keep) this.#recent.shift();
    const key = `${d.allow ? 'allow' : 'deny'}\0${d.reason}\0${kind.slice(0, kind.indexOf('.'))}`;
    this.decisions.set(key, (this.decisions.get(key) ?? 0) + 1);
    this.#o.log.info({ event: kind, decision: d }, `${d.allow ? 'allow' : 'deny'} ${d.resource}: ${d.reason}`);
  }
}
