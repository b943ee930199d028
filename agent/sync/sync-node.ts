// A node's link to its peers over MQTT (docs/sync-protocol.md): publishes each event it
// appends, announces itself with a retained status and a last will, reconciles with peers
// (RBSR, responder settlement) whenever they meet, fetches what it lacks, and feeds
// everything it receives through the ledger's ingest. Nothing relies on the broker keeping
// messages: a node that was away, or a broker restarted empty, converges by reconciliation.
import { createHash, randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { IngestResult, Ledger } from '../ledger/ledger.ts';
import type { AppendedEvent } from '../ledger/event.ts';
import type { RejectionCode } from '../ledger/errors.ts';
import type { ReconcilerOptions } from './rbsr/reconciler.ts';
import { LedgerItemSource } from './ledger-source.ts';
import { EventReader } from './event-reader.ts';
import { IngestQueue } from './ingest-queue.ts';
import { InitiatorSession, type SessionOutcome } from './initiator.ts';
import { serveRequest } from './responder.ts';
import { PeerGuard, RecentSet } from './rate-limit.ts';
import { sortByClock } from './event-order.ts';
import { Topics, checkNodeName, type ParsedTopic } from './topics.ts';
import {
  NackCode, SyncMessageError, decodeMessage, decodePresence, encodeNack, encodePresence, encodeRequest, packEvents,
  type SyncMessage,
} from './messages.ts';
import {
  resolveLimits, silentLogger, type SyncCounters, type SyncLimits, type SyncLogger, type SyncNodeOptions, type SyncStatus,
} from './options.ts';
import { nextTurn } from './next-turn.ts';

export type { SessionOutcome } from './initiator.ts';

/** Rejections that only a broken or hostile sender produces: they count as strikes. */
const STRIKE_CODES: ReadonlySet<RejectionCode> = new Set(['TOO_LARGE', 'BAD_ENCODING', 'NOT_CANONICAL', 'BAD_SIGNATURE', 'WRONG_ORG', 'PENDING_FULL']);
const ANCESTOR_RETRY_MS = 10_000;
/** After a peer cut its answer at its budget, reconcile with it again this much later. */
const ANSWER_CUT_RETRY_MS = 1_000;
/** How long the first parts of a multi-message batch wait for the rest. */
const BATCH_HOLD_MS = 5_000;

interface Peer {
  online: boolean;
  lastSeenMs: number | null;
  events?: number;
  lastSessionMs: number;
  /** Last time it reconciled with us or we with it. */
  lastExchangeMs: number;
  queuedRequests: number;
}

export class SyncNode {
  private readonly o: Required<Pick<SyncNodeOptions, 'syncIntervalMs' | 'presenceIntervalMs' | 'reconnectPeriodMs' | 'requestTimeoutMs' | 'liveSyncDelayMs'>>;
  private readonly limits: SyncLimits;
  private readonly ledger: Ledger;
  private readonly name: string;
  private readonly topics: Topics;
  private readonly now: () => number;
  private readonly log: SyncLogger;
  private readonly source: LedgerItemSource;
  private readonly reader: EventReader;
  private readonly ingest: IngestQueue;
  private readonly guard: PeerGuard;
  private readonly replays = new RecentSet(4096);
  private readonly rec: ReconcilerOptions;
  private readonly peers = new Map<string, Peer>();
  private readonly counters: SyncCounters = {
    published: 0, received: 0, rejected: 0, bytesIn: 0, bytesOut: 0, rounds: 0, sessions: 0, eventsSent: 0, eventsReceived: 0, eventsAccepted: 0,
  };
  private client: MqttClient | null = null;
  private connected = false;
  private state: 'new' | 'running' | 'stopping' | 'stopped' = 'new';
  private stopPromise: Promise<void> | null = null;
  private lastContactMs: number | null = null;
  private timers = new Set<NodeJS.Timeout>();
  private intervals: NodeJS.Timeout[] = [];
  // Sessions we lead: one at a time, peers queued in order.
  private running: InitiatorSession | null = null;
  private sessionQueue: string[] = [];
  private sessionWaiters = new Map<string, Array<(o: SessionOutcome | null) => void>>();
  private readonly ancestorSessions = new Map<number, string>();
  private readonly batches = new Map<string, { from: string; raws: Buffer[]; bytes: number; timer: NodeJS.Timeout }>();
  private readonly ancestorAsked = new Map<string, number>();
  private serveChain: Promise<void> = Promise.resolve();
  private serving = 0;
  /** Messages received and waiting for their turn (onPayload). */
  private deferred = 0;
  // Live publication: batches appended by commits, published unless sync ingest made them.
  private prevOnAppend: Ledger['onAppend'] = null;
  private installedOnAppend: Ledger['onAppend'] = null;
  private appendedBatches: AppendedEvent[][] = [];
  private readonly syncAccepted = new Set<string>();
  private flushScheduled = false;
  private lastPresenceCount = -1;
  private connectWaiters: Array<{ resolve: () => void; reject: (e: Error) => void; timer: NodeJS.Timeout }> = [];

  constructor(private readonly opts: SyncNodeOptions) {
    if (!opts.ledger) throw new TypeError('SyncNode needs a ledger');
    if (typeof opts.url !== 'string' || !/^(mqtts?|tcp|ssl):\/\//.test(opts.url)) {
      throw new TypeError(`sync url must be mqtt://host:port or mqtts://host:port, got ${JSON.stringify(opts.url)}`);
    }
    this.ledger = opts.ledger;
    this.name = checkNodeName(opts.nodeName);
    this.topics = new Topics(opts.orgId);
    this.now = opts.now ?? Date.now;
    this.log = opts.logger ?? silentLogger;
    this.limits = resolveLimits(opts.limits);
    this.o = {
      syncIntervalMs: opts.syncIntervalMs ?? 60_000,
      presenceIntervalMs: opts.presenceIntervalMs ?? 30_000,
      reconnectPeriodMs: opts.reconnectPeriodMs ?? 2_000,
      requestTimeoutMs: opts.requestTimeoutMs ?? 15_000,
      liveSyncDelayMs: opts.liveSyncDelayMs ?? 2_000,
    };
    this.rec = { frameSizeLimit: this.limits.frameSizeLimit, settleMax: this.limits.settleMax, settleFrameMax: this.limits.settleFrameMax };
    this.source = new LedgerItemSource(this.ledger.db);
    this.reader = new EventReader(this.ledger);
    this.guard = new PeerGuard(this.limits.peer, this.now);
    this.ingest = new IngestQueue(this.ledger, {
      // Unless set, the queue sizes chunks for the ledger (bigger with a writer thread).
      ...(opts.limits?.ingestChunk !== undefined && { chunk: this.limits.ingestChunk }),
      maxQueuedBytes: this.limits.maxQueuedBytes,
      maxQueuedEvents: this.limits.maxQueuedEvents,
      onResult: (peer, _raws, results) => this.ingested(peer, results),
      onError: (e) => this.log.error({ err: String(e) }, 'sync: ledger ingest failed'),
    });
  }

  get nodeName(): string { return this.name; }

  /**
   * Builds the (hlc, id) index of the ledger in slices, hooks Ledger.onAppend (keeping any
   * handler already there) and connects; resolves without waiting for the broker, which is
   * retried every reconnectPeriodMs.
   */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error(`SyncNode.start() on a node that is ${this.state}`);
    this.state = 'running';
    try {
      await this.source.load();
    } catch (e) {
      this.state = 'stopped';
      throw new Error(`sync: cannot index the ledger: ${(e as Error).message}`, { cause: e });
    }
    if (this.state !== 'running') return;
    // Compose with a handler already there (the daemon's), never replace it.
    const prev = this.ledger.onAppend;
    const hook = (evs: AppendedEvent[]): void => this.appended(evs);
    this.prevOnAppend = prev;
    this.installedOnAppend = prev ? (evs) => { prev(evs); hook(evs); } : hook;
    this.ledger.onAppend = this.installedOnAppend;
    const clientOpts: IClientOptions = {
      clientId: this.opts.clientId ?? `gdo-${this.name}-${randomBytes(3).toString('hex')}`,
      protocolVersion: 4,
      clean: true,
      keepalive: 30,
      reconnectPeriod: this.o.reconnectPeriodMs,
      connectTimeout: 10_000,
      resubscribe: false,
      queueQoSZero: false,
      will: { topic: this.topics.status(this.name), payload: encodePresence({ state: 'offline' }), qos: 1, retain: true },
    };
    if (this.opts.username !== undefined) clientOpts.username = this.opts.username;
    if (this.opts.password !== undefined) clientOpts.password = this.opts.password;
    const tls = this.opts.tls;
    if (tls) {
      if (tls.ca !== undefined) clientOpts.ca = tls.ca as string | Buffer;
      if (tls.cert !== undefined) clientOpts.cert = tls.cert;
      if (tls.key !== undefined) clientOpts.key = tls.key;
      clientOpts.rejectUnauthorized = tls.rejectUnauthorized ?? true;
      if (tls.servername !== undefined) clientOpts.servername = tls.servername;
    }
    const client = mqtt.connect(this.opts.url, clientOpts);
    this.client = client;
    client.on('connect', () => this.safely('connect', () => this.onConnect()));
    client.on('close', () => this.safely('close', () => this.onClose()));
    client.on('error', (e) => {
      // The code (ECONNREFUSED, a TLS verification code, a CONNACK return code) lets a tool say which it was.
      const code = (e as { code?: unknown }).code;
      if (this.state === 'running') this.log.warn({ err: e.message, ...(code !== undefined && { code }) }, 'sync: mqtt error');
      else this.log.debug({ err: e.message }, 'sync: mqtt error while stopping');
    });
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet.retain));
    this.intervals.push(setInterval(() => this.safely('anti-entropy', () => this.antiEntropy()), this.o.syncIntervalMs));
    this.intervals.push(setInterval(() => this.safely('presence', () => this.publishPresence(false)), this.o.presenceIntervalMs));
  }

  /**
   * Publishes the offline status (a clean disconnect sends no last will), disconnects, waits
   * for the ingest chunk in progress, unhooks onAppend and clears every timer. The ledger
   * stays open: it belongs to the caller.
   */
  stop(): Promise<void> {
    this.stopPromise ??= this.shutdown();
    return this.stopPromise;
  }

  status(): SyncStatus {
    const mine = this.source.isLoaded ? this.source.size() : 0;
    return {
      connected: this.connected,
      peers: [...this.peers].sort(([a], [b]) => a.localeCompare(b)).map(([name, p]) => ({
        name, online: p.online, lastSeenMs: p.lastSeenMs,
        ...(p.events !== undefined ? { lagEvents: Math.max(0, mine - p.events) } : {}),
      })),
      lastContactMs: this.lastContactMs,
      counters: { ...this.counters },
    };
  }

  /**
   * Reconciles with `peer` now (or with the online peer we reconciled with least recently);
   * resolves with the session's outcome, or null when there is no peer or the node stops.
   */
  syncWith(peer?: string): Promise<SessionOutcome | null> {
    const target = peer ?? this.pickPeer();
    if (!target || this.state !== 'running') return Promise.resolve(null);
    checkNodeName(target, 'peer name');
    return new Promise((resolve) => {
      const list = this.sessionWaiters.get(target) ?? [];
      list.push(resolve);
      this.sessionWaiters.set(target, list);
      this.enqueueSession(target);
    });
  }

  /** Resolves once connected to the broker; rejects after `timeoutMs`. */
  waitConnected(timeoutMs = 10_000): Promise<void> {
    if (this.connected) return Promise.resolve();
    if (this.state !== 'running') return Promise.reject(new Error(`sync: waitConnected() on a node that is ${this.state}`));
    return new Promise((resolve, reject) => {
      const w = {
        resolve, reject,
        timer: setTimeout(() => {
          this.connectWaiters = this.connectWaiters.filter((x) => x !== w);
          reject(new Error(`sync: not connected to ${this.opts.url} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.connectWaiters.push(w);
    });
  }

  /**
   * Publishes these events on our live stream now (what a tool signed before it was connected, e.g.
   * the staff desk: docs/sync-protocol.md, "The staff desk"); false when not connected.
   */
  publishEvents(raws: readonly Buffer[]): boolean {
    if (!this.connected || this.state !== 'running') return false;
    if (raws.length === 0) return true;
    for (const payload of packEvents(0, raws, this.limits.maxEventsMessageBytes)) this.publish(this.topics.events(this.name), payload);
    this.counters.eventsSent += raws.length;
    return true;
  }

  /** Resolves when no session runs or is queued, no request is being served and ingest is idle. */
  async whenIdle(): Promise<void> {
    for (let quiet = 0; quiet < 2;) {
      await this.ingest.idle();
      await this.serveChain;
      if (this.running) await this.running.done;
      await nextTurn();
      quiet = this.running || this.sessionQueue.length > 0 || this.serving > 0 || this.deferred > 0 || this.ingest.busy ? 0 : quiet + 1;
    }
  }

  // ---- connection ----------------------------------------------------------------------------

  /** Runs a timer or event callback: a failure is logged, never thrown into the event loop. */
  private safely(what: string, f: () => void): void {
    try {
      f();
    } catch (e) {
      this.log.error({ err: String(e), in: what }, 'sync: internal error (recovered)');
    }
  }

  private onConnect(): void {
    if (this.state !== 'running' || !this.client) return;
    this.connected = true;
    this.log.info({ url: this.opts.url, node: this.name }, 'sync: connected');
    // Clean sessions: subscriptions are made anew on every connect. Retained presences arrive
    // right after; each online peer found that way is reconciled with (see onPresence).
    this.client.subscribe(this.topics.subscriptions(this.name), { qos: 1 }, (err) => {
      if (err) this.log.warn({ err: err.message }, 'sync: subscribe failed');
    });
    this.publishPresence(true);
    const w = this.connectWaiters;
    this.connectWaiters = [];
    for (const x of w) {
      clearTimeout(x.timer);
      x.resolve();
    }
    this.pump(); // sessions queued while we were away
  }

  private onClose(): void {
    if (!this.connected) return;
    this.connected = false;
    this.log.info({ url: this.opts.url }, 'sync: disconnected');
    this.running?.abort('disconnected');
    for (const p of this.peers.values()) p.online = false;
  }

  private publish(topic: string, payload: Buffer, retain = false): boolean {
    const c = this.client;
    if (!c || !this.connected) return false;
    c.publish(topic, payload, { qos: 1, retain }, (err) => {
      if (err) this.log.debug({ err: err.message, topic }, 'sync: publish failed');
    });
    this.counters.published++;
    this.counters.bytesOut += payload.length + Buffer.byteLength(topic);
    return true;
  }

  private sendTo(peer: string, payload: Buffer): boolean {
    return this.publish(this.topics.direct(this.name, peer), payload);
  }

  /**
   * Publishes this node's presence now. Peers that could not read it before (a broker whose ACL just
   * changed, parts/mosquitto-files.ts) see this node come online and reconcile with it.
   */
  announce(): void {
    this.safely('announce', () => this.publishPresence(true));
  }

  private publishPresence(force: boolean): void {
    if (!this.connected) return;
    this.source.refresh();
    const events = this.source.size();
    if (!force && events === this.lastPresenceCount) return;
    this.lastPresenceCount = events;
    this.publish(this.topics.status(this.name), encodePresence({ state: 'online', events, at: this.now() }), true);
  }

  // ---- receiving -----------------------------------------------------------------------------

  private onMessage(topic: string, payload: Buffer, retained: boolean): void {
    try {
      const t = this.topics.parse(topic);
      if (t && t.from === this.name) return; // our own stream, echoed back
      this.counters.received++;
      this.counters.bytesIn += payload.length + Buffer.byteLength(topic);
      if (!t || t.kind === 'enrol' || (t.kind === 'direct' && t.to !== this.name)) {
        this.counters.rejected++;
        return;
      }
      if (payload.length > this.limits.maxMessageBytes) {
        this.reject(t.from, `payload of ${payload.length} bytes, limit ${this.limits.maxMessageBytes}`, 5);
        return;
      }
      const admitted = this.guard.admit(t.from, payload.length);
      if (admitted !== 'ok') {
        this.counters.rejected++;
        return;
      }
      if (t.kind === 'status') {
        this.onPresence(t.from, payload, retained);
        return;
      }
      // The client hands over every message of a socket read at once; a catch-up brings many
      // large ones. Each is digested and decoded in its own turn of the event loop (in order),
      // so a burst never holds up a decision for long.
      this.deferred++;
      setImmediate(() => {
        this.deferred--;
        if (this.state === 'running') this.safely('message', () => this.onPayload(t, topic, payload));
      });
    } catch (e) {
      this.log.error({ err: String(e), topic }, 'sync: failed to handle a message');
    }
  }

  private onPayload(t: Exclude<ParsedTopic, { kind: 'enrol' | 'status' }>, topic: string, payload: Buffer): void {
    // Strikes from the messages before this one (processed first) may have muted the sender.
    if (this.guard.isMuted(t.from)) {
      this.counters.rejected++;
      return;
    }
    // Exact repeats (replays, or QoS 1 duplicates) are dropped before decoding.
    const digest = createHash('sha256').update(topic).update('\0').update(payload).digest('base64');
    if (this.replays.checkAndAdd(digest)) {
      this.counters.rejected++;
      return;
    }
    let msg: SyncMessage;
    try {
      msg = decodeMessage(payload);
    } catch (e) {
      this.reject(t.from, e instanceof SyncMessageError ? e.message : String(e));
      return;
    }
    this.seen(t.from);
    this.dispatch(t, msg);
  }

  private dispatch(t: Exclude<ParsedTopic, { kind: 'enrol' | 'status' }>, msg: SyncMessage): void {
    const from = t.from;
    if (t.kind === 'events' && msg.type !== 'events') {
      this.reject(from, `a ${msg.type} message on an events topic`);
      return;
    }
    switch (msg.type) {
      case 'events': {
        this.counters.eventsReceived += msg.events.length;
        const s = this.running;
        if (t.kind === 'direct' && s && s.peer === from && s.session === msg.session) s.receive(msg.events);
        else this.batch(`${from}/${t.kind}/${msg.session}`, from, msg.events, msg.more);
        return;
      }
      case 'request':
        this.queueRequest(from, msg);
        return;
      case 'response': {
        const s = this.running;
        if (s && s.peer === from && s.session === msg.session) {
          void s.onResponse(msg);
          return;
        }
        if (this.ancestorSessions.get(msg.session) === from) {
          this.ancestorSessions.delete(msg.session);
          this.contact(from);
          return;
        }
        this.counters.rejected++; // a stale or replayed response
        return;
      }
      case 'nack': {
        const s = this.running;
        if (s && s.peer === from && s.session === msg.session) s.onNack(msg.code, msg.reason);
        else this.counters.rejected++;
        return;
      }
    }
  }

  /**
   * Holds the parts of a batch sent over several EVENTS messages (MORE set) and ingests the
   * batch at once: the ledger merges a concurrent branch far more cheaply in one call.
   */
  private batch(key: string, from: string, raws: Buffer[], more: boolean): void {
    let b = this.batches.get(key);
    if (!b && !more) {
      this.toIngest(from, raws);
      return;
    }
    if (!b) {
      if (this.batches.size >= 64) this.flushBatch(this.batches.keys().next().value as string);
      const timer = setTimeout(() => this.safely('batch', () => this.flushBatch(key)), BATCH_HOLD_MS);
      this.timers.add(timer);
      b = { from, raws: [], bytes: 0, timer };
      this.batches.set(key, b);
    }
    b.raws.push(...raws);
    b.bytes += raws.reduce((n, r) => n + r.length, 0);
    // Bounded like the ingest queue, in events as well as bytes (docs/sync-protocol.md 7).
    if (!more || b.bytes > this.limits.maxQueuedBytes / 4 || b.raws.length > this.limits.maxQueuedEvents / 4) this.flushBatch(key);
  }

  private flushBatch(key: string): void {
    const b = this.batches.get(key);
    if (!b) return;
    this.batches.delete(key);
    clearTimeout(b.timer);
    this.timers.delete(b.timer);
    if (this.state === 'running') this.toIngest(b.from, sortByClock(b.raws));
  }

  private toIngest(from: string, raws: Buffer[]): void {
    if (!this.ingest.push(from, raws)) {
      this.counters.rejected++;
      this.log.warn({ peer: from, events: raws.length }, 'sync: ingest queue full, events dropped (reconciliation will fetch them)');
    }
  }

  private reject(peer: string, why: string, weight = 1): void {
    this.counters.rejected++;
    if (this.guard.strike(peer, weight)) {
      this.log.warn({ peer, why }, 'sync: peer muted after repeated bad payloads');
    } else {
      this.log.debug({ peer, why }, 'sync: payload rejected');
    }
  }

  private peer(name: string): Peer {
    let p = this.peers.get(name);
    if (!p) {
      p = { online: false, lastSeenMs: null, lastSessionMs: 0, lastExchangeMs: 0, queuedRequests: 0 };
      // Names come from topics; keep the table bounded like the rate limiter's.
      if (this.peers.size >= this.limits.peer.maxPeers) {
        const stale = [...this.peers].find(([, q]) => !q.online);
        if (stale) this.peers.delete(stale[0]);
      }
      this.peers.set(name, p);
    }
    return p;
  }

  private seen(name: string): void {
    this.peer(name).lastSeenMs = this.now();
  }

  private contact(name: string): void {
    const t = this.now();
    this.lastContactMs = t;
    this.peer(name).lastExchangeMs = t;
  }

  private onPresence(from: string, payload: Buffer, retained: boolean): void {
    let p;
    try {
      p = decodePresence(payload);
    } catch (e) {
      this.reject(from, (e as Error).message);
      return;
    }
    const peer = this.peer(from);
    const wasOnline = peer.online;
    peer.online = p.state === 'online';
    if (p.events !== undefined) peer.events = p.events;
    if (!retained) peer.lastSeenMs = this.now();
    if (!peer.online || wasOnline || this.opts.autoSync === false) return;
    if (retained) {
      // It was there before we subscribed: we just (re)connected, so we reconcile with it.
      this.enqueueSession(from);
      return;
    }
    // It just came online and will find our retained status and reconcile with us; if it has
    // not done so after a while (both connected at once), we do.
    const since = this.now();
    this.later(this.o.liveSyncDelayMs + Math.floor(Math.random() * this.o.liveSyncDelayMs), () => {
      if (this.peer(from).lastExchangeMs < since) this.enqueueSession(from);
    });
  }

  // ---- ingest and live publication ------------------------------------------------------------

  private ingested(peer: string, results: IngestResult[]): void {
    let pending = false;
    let good = false;
    results.forEach((r) => {
      if (!r) return;
      switch (r.status) {
        case 'accepted':
          if (r.id) this.syncAccepted.add(r.id);
          good = true;
          break;
        case 'duplicate':
          good = true;
          break;
        case 'pending':
          pending = true;
          good = true;
          // It pushed older pending events out of a full pool: a flood by throw-away keys (4.4).
          if (r.dropped) this.reject(peer, `pending pool full: ${r.dropped} older pending events dropped`);
          break;
        case 'rejected':
          this.counters.rejected++;
          if (r.code && STRIKE_CODES.has(r.code)) this.reject(peer, `${r.code}: ${r.message ?? ''}`);
          else this.log.debug({ peer, code: r.code, id: r.id }, 'sync: event rejected by the ledger');
          break;
      }
    });
    if (good) this.contact(peer);
    if (pending) this.fetchAncestors(peer);
  }

  /** Runs inside the ledger's commit: only records the batch (never throws into the ledger). */
  private appended(events: AppendedEvent[]): void {
    if (this.state !== 'running') return;
    try {
      this.appendedBatches.push(events);
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        // A macrotask: the ingest queue records what sync itself ingested (a microtask) first.
        setImmediate(() => this.safely('publish', () => this.flushAppended()));
      }
    } catch (e) {
      this.log.error({ err: String(e) }, 'sync: onAppend hook failed');
    }
  }

  private flushAppended(): void {
    this.flushScheduled = false;
    const batches = this.appendedBatches;
    this.appendedBatches = [];
    const live: Buffer[] = [];
    for (const b of batches) {
      // A commit that appended anything sync ingested came from peers (events released from
      // pending come with their missing parent): peers have those, so they are not re-published.
      if (b.some((e) => this.syncAccepted.has(e.id.toString('hex')))) {
        this.counters.eventsAccepted += b.length;
        continue;
      }
      for (const e of b) live.push(e.raw);
    }
    this.syncAccepted.clear();
    if (live.length === 0 || !this.connected) return;
    for (const payload of packEvents(0, live, this.limits.maxEventsMessageBytes)) this.publish(this.topics.events(this.name), payload);
    this.counters.eventsSent += live.length;
  }

  private fetchAncestors(peer: string): void {
    const t = this.now();
    const ids = this.ledger.missingIds(this.limits.maxFetch).filter((id) => {
      const k = id.toString('hex');
      const at = this.ancestorAsked.get(k);
      if (at !== undefined && t - at < ANCESTOR_RETRY_MS) return false;
      this.ancestorAsked.set(k, t);
      return true;
    });
    if (this.ancestorAsked.size > 4 * this.limits.maxFetch) {
      for (const [k, at] of this.ancestorAsked) if (t - at >= ANCESTOR_RETRY_MS) this.ancestorAsked.delete(k);
    }
    if (ids.length === 0) return;
    const session = newSessionId();
    if (this.ancestorSessions.size >= 64) this.ancestorSessions.delete(this.ancestorSessions.keys().next().value as number);
    this.ancestorSessions.set(session, peer);
    this.log.debug({ peer, ids: ids.length }, 'sync: fetching ancestors of pending events');
    this.sendTo(peer, encodeRequest(session, null, ids));
  }

  // ---- serving requests ------------------------------------------------------------------------

  private queueRequest(from: string, msg: Extract<SyncMessage, { type: 'request' }>): void {
    const p = this.peer(from);
    if (p.queuedRequests >= this.limits.maxQueuedRequests || !this.guard.admitRequest(from)) {
      this.counters.rejected++;
      this.sendTo(from, encodeNack(msg.session, NackCode.Busy, 'too many requests, retry later'));
      return;
    }
    p.queuedRequests++;
    this.serving++;
    this.serveChain = this.serveChain.then(async () => {
      try {
        if (this.state !== 'running') return;
        const out = await serveRequest({
          source: this.source, reader: this.reader, reconciler: this.rec, maxFetch: this.limits.maxFetch,
          maxEventsMessageBytes: this.limits.maxEventsMessageBytes,
          maxAnswerBytes: this.limits.maxAnswerBytes,
          takeAnswer: (bytes) => this.guard.takeAnswer(from, bytes),
          send: (payload) => this.sendTo(from, payload),
          stopped: () => this.state !== 'running',
        }, msg);
        this.counters.eventsSent += out.events;
        if (out.cut) this.log.info({ peer: from, events: out.events }, 'sync: answer to a request cut at its byte budget');
        this.contact(from);
      } catch (e) {
        this.reject(from, (e as Error).message);
        this.sendTo(from, encodeNack(msg.session, NackCode.BadRequest, (e as Error).message));
      } finally {
        p.queuedRequests--;
        this.serving--;
      }
    });
  }

  // ---- sessions we lead ------------------------------------------------------------------------

  private pickPeer(): string | undefined {
    let best: [string, Peer] | undefined;
    for (const e of this.peers) {
      if (!e[1].online || this.guard.isMuted(e[0])) continue;
      if (!best || e[1].lastSessionMs < best[1].lastSessionMs) best = e;
    }
    return best?.[0];
  }

  private antiEntropy(): void {
    if (!this.connected || this.state !== 'running') return;
    const p = this.pickPeer();
    if (!p) return;
    if (this.opts.autoSync !== false) this.enqueueSession(p);
    if (this.ledger.pendingCount() > 0) this.fetchAncestors(p);
  }

  private enqueueSession(peer: string): void {
    if (this.state !== 'running') return;
    if (this.running?.peer !== peer && !this.sessionQueue.includes(peer)) this.sessionQueue.push(peer);
    this.pump();
  }

  private pump(): void {
    if (this.running || !this.connected || this.state !== 'running') return;
    const peer = this.sessionQueue.shift();
    if (peer === undefined) return;
    try {
      this.source.refresh();
    } catch (e) {
      this.log.error({ err: String(e) }, 'sync: cannot read the ledger index; session skipped');
      for (const w of this.sessionWaiters.get(peer) ?? []) w(null);
      this.sessionWaiters.delete(peer);
      return;
    }
    const s = new InitiatorSession({
      peer,
      session: newSessionId(),
      source: this.source,
      reconciler: this.rec,
      send: (payload) => this.sendTo(peer, payload),
      push: async (ids) => {
        const raws = await this.reader.read({ ids }, () => this.state !== 'running');
        let first = true;
        for (const payload of packEvents(s.session, raws, this.limits.maxEventsMessageBytes)) {
          // One payload per turn of the event loop (see responder.ts).
          if (!first) await nextTurn();
          first = false;
          if (this.state !== 'running') return;
          this.sendTo(peer, payload);
        }
        this.counters.eventsSent += raws.length;
      },
      deliver: (raws) => this.toIngest(peer, raws),
      maxBufferedBytes: Math.floor(this.limits.maxQueuedBytes / 2),
      maxFetch: this.limits.maxFetch,
      maxRounds: this.limits.maxRounds,
      timeoutMs: this.o.requestTimeoutMs,
      now: this.now,
      onRound: () => {
        this.counters.rounds++;
        this.contact(peer);
      },
    });
    this.running = s;
    this.counters.sessions++;
    s.start();
    void s.done.then((outcome) => this.safely('session end', () => {
      this.running = null;
      this.peer(peer).lastSessionMs = this.now();
      if (outcome.ok) this.log.debug({ ...outcome }, 'sync: reconciled');
      else this.log.info({ ...outcome }, 'sync: reconciliation ended early');
      // The peer cut its answer at its byte budget (responder.ts): go on once its bucket has refilled
      // a little, rather than at the next anti-entropy round.
      if (!outcome.ok && outcome.error?.includes('answer cut') === true) this.later(ANSWER_CUT_RETRY_MS, () => this.enqueueSession(peer));
      const waiters = this.sessionWaiters.get(peer) ?? [];
      this.sessionWaiters.delete(peer);
      for (const w of waiters) w(outcome);
      this.pump();
    }));
  }

  // ---- lifecycle -------------------------------------------------------------------------------

  private later(ms: number, f: () => void): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (this.state === 'running') this.safely('timer', f);
    }, ms);
    this.timers.add(t);
  }

  private async shutdown(): Promise<void> {
    if (this.state === 'new') {
      this.state = 'stopped';
      return;
    }
    this.state = 'stopping';
    for (const i of this.intervals) clearInterval(i);
    this.intervals = [];
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.batches.clear();
    this.sessionQueue = [];
    this.running?.abort('stopping');
    for (const [, ws] of this.sessionWaiters) for (const w of ws) w(null);
    this.sessionWaiters.clear();
    await this.ingest.stop();
    await this.serveChain;
    if (this.running) await this.running.done;
    // Unhook unless someone wrapped our hook since: then theirs stays, and ours is inert.
    if (this.installedOnAppend && this.ledger.onAppend === this.installedOnAppend) this.ledger.onAppend = this.prevOnAppend;
    this.installedOnAppend = null;
    const client = this.client;
    this.client = null;
    if (client) {
      if (this.connected) {
        // A clean disconnect sends no last will, so say goodbye ourselves (retained).
        await withTimeout(client.publishAsync(this.topics.status(this.name), encodePresence({ state: 'offline' }), { qos: 1, retain: true }), 2000).catch(() => undefined);
        this.counters.published++;
      }
      this.connected = false;
      // A forced end can itself wait on a socket caught mid-reconnect (a broker that lets us in and then drops
      // us): bounded too, and then the socket is destroyed, so stop() always returns and the process can exit.
      await withTimeout(client.endAsync(false), 2000)
        .catch(() => withTimeout(client.endAsync(true), 1000))
        .catch(() => { client.stream?.destroy(); });
      client.removeAllListeners();
    }
    const w = this.connectWaiters;
    this.connectWaiters = [];
    for (const x of w) {
      clearTimeout(x.timer);
      x.reject(new Error('sync: stopped before connecting'));
    }
    this.state = 'stopped';
  }
}

/** Random, never 0 (0 marks live publication). */
function newSessionId(): number {
  return randomBytes(4).readUInt32BE(0) || 1;
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then((v) => { clearTimeout(t); resolve(v); }, (e: unknown) => { clearTimeout(t); reject(e instanceof Error ? e : new Error(String(e))); });
  });
}
