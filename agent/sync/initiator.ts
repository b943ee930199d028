// One reconciliation session led by this node (docs/sync-protocol.md 4.2): RBSR frames go to
// the peer in REQUEST messages together with the ids we learnt we lack; the peer answers each
// with the events we lack (EVENTS, sent first) and a RESPONSE carrying its next frame and the
// indexes of our listed ids it lacks, whose events we then push to it.
import { Reconciler, type ReconcilerOptions } from './rbsr/reconciler.ts';
import { RbsrError } from './rbsr/errors.ts';
import type { ItemSource } from './rbsr/item-source.ts';
import { encodeRequest, type SyncMessage } from './messages.ts';
import { sortByClock } from './event-order.ts';

export interface SessionOutcome {
  peer: string;
  session: number;
  ok: boolean;
  /** Request/response round trips. */
  rounds: number;
  /** Events we pushed to the peer. */
  pushed: number;
  /** Ids we asked the peer for by fetch. */
  fetched: number;
  /** Events that arrived from the peer under this session (those it settled plus those we fetched). */
  received: number;
  ms: number;
  error?: string;
}

export interface InitiatorDeps {
  peer: string;
  session: number;
  source: ItemSource;
  reconciler: ReconcilerOptions;
  /** Publishes a payload on our direct topic to the peer; false when it could not be sent. */
  send(payload: Buffer): boolean;
  /** Sends the peer these events of ours (EVENTS messages on the same topic). */
  push(ids: Buffer[]): Promise<void>;
  /** Hands the events the peer sent under this session to ingest (once it ends, or when too many wait). */
  deliver(raws: Buffer[]): void;
  /** Bytes of received events held before they are handed on early. */
  maxBufferedBytes: number;
  maxFetch: number;
  maxRounds: number;
  timeoutMs: number;
  now(): number;
  /** Called on each valid response: a successful exchange with the peer. */
  onRound(): void;
}

type Response = Extract<SyncMessage, { type: 'response' }>;

export class InitiatorSession {
  readonly done: Promise<SessionOutcome>;
  private resolve!: (o: SessionOutcome) => void;
  private readonly rec: Reconciler;
  private readonly started: number;
  private rounds = 0;
  private pushed = 0;
  private fetched = 0;
  private received = 0;
  private toFetch: Buffer[] = [];
  /** What the peer lacks, pushed in one clock-ordered batch at the end (parents first). */
  private toPush: Buffer[] = [];
  /** Events received under this session, ingested in clock order when it ends. */
  private inbox: Buffer[] = [];
  private inboxBytes = 0;
  private awaitingFrame = false;
  private busy = false;
  private finished = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly d: InitiatorDeps) {
    this.done = new Promise((r) => { this.resolve = r; });
    this.rec = new Reconciler(d.source, d.reconciler);
    this.started = d.now();
  }

  get peer(): string { return this.d.peer; }
  get session(): number { return this.d.session; }

  start(): void {
    let frame: Buffer;
    try {
      frame = this.rec.initiate();
    } catch (e) {
      this.finish(false, `cannot start: ${(e as Error).message}`);
      return;
    }
    this.awaitingFrame = true;
    this.request(frame, []);
  }

  /** Handles the peer's RESPONSE; never throws. */
  async onResponse(msg: Response): Promise<void> {
    if (this.finished || this.busy) return;
    this.busy = true;
    this.disarm();
    try {
      this.rounds++;
      let reply: Buffer | undefined;
      if (this.awaitingFrame) {
        if (!msg.frame) throw new RbsrError('RBSR_STATE', 'the peer answered a frame without one');
        const step = this.rec.reconcile(msg.frame, msg.needIndexes);
        this.d.onRound();
        this.fetched += step.need.length;
        this.toFetch.push(...step.need);
        reply = step.reply;
        this.toPush.push(...step.have);
      } else {
        if (msg.frame || msg.needIndexes.length > 0) throw new RbsrError('RBSR_STATE', 'the peer answered a fetch with a frame');
        this.d.onRound();
      }
      this.awaitingFrame = reply !== undefined;
      const fetch = this.toFetch.splice(0, this.d.maxFetch);
      if (!reply && fetch.length === 0) {
        // Pushed once at the end, in clock order, so the peer parks nothing as pending.
        this.pushed = this.toPush.length;
        if (this.toPush.length > 0) await this.d.push(this.toPush);
        this.finish(true);
        return;
      }
      if (this.rounds >= this.d.maxRounds) {
        this.finish(false, `no convergence within ${this.d.maxRounds} round trips`);
        return;
      }
      this.request(reply ?? null, fetch);
    } catch (e) {
      this.finish(false, `bad response from ${this.d.peer}: ${(e as Error).message}`);
    } finally {
      this.busy = false;
    }
  }

  /** Takes events the peer sent under this session. */
  receive(raws: Buffer[]): void {
    if (this.finished) {
      this.d.deliver(raws);
      return;
    }
    this.received += raws.length;
    this.inbox.push(...raws);
    this.inboxBytes += raws.reduce((n, r) => n + r.length, 0);
    if (this.inboxBytes > this.d.maxBufferedBytes) this.flushInbox();
  }

  private flushInbox(): void {
    const raws = this.inbox;
    this.inbox = [];
    this.inboxBytes = 0;
    if (raws.length > 0) this.d.deliver(sortByClock(raws));
  }

  onNack(code: number, reason: string): void {
    this.finish(false, `peer refused (code ${code}): ${reason}`);
  }

  abort(reason: string): void {
    this.finish(false, reason);
  }

  private request(frame: Buffer | null, fetch: Buffer[]): void {
    if (!this.d.send(encodeRequest(this.d.session, frame, fetch))) {
      this.finish(false, 'not connected');
      return;
    }
    this.timer = setTimeout(() => this.finish(false, `no response within ${this.d.timeoutMs} ms`), this.d.timeoutMs);
  }

  private disarm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private finish(ok: boolean, error?: string): void {
    if (this.finished) return;
    this.finished = true;
    this.disarm();
    this.flushInbox();
    const o: SessionOutcome = { peer: this.d.peer, session: this.d.session, ok, rounds: this.rounds, pushed: this.pushed, fetched: this.fetched, received: this.received, ms: this.d.now() - this.started };
    if (error !== undefined) o.error = error;
    this.resolve(o);
  }
}
