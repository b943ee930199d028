// The staff desk as a peer of the site (docs/sync-protocol.md, "The staff desk"): a data directory's
// ledger joins the site's sync under an operator account of the hub, publishes what staff just signed
// on its live stream (doors subscribed to every peer's stream apply it at once), and reconciles with
// the hub until a session finds nothing left to push: that is the proof the hub holds every event of
// the desk. Connection failures are sorted into what a person can act on (password, CA, name, network).
import type { Ledger } from '../ledger/ledger.ts';
import type { KeyRecord } from '../ledger/dapp.ts';
import { SyncNode } from './sync-node.ts';
import type { SessionOutcome } from './initiator.ts';
import type { SyncLogger, SyncTls } from './options.ts';

export type LinkProblem = 'auth' | 'not-authorised' | 'tls-ca' | 'tls-name' | 'tls' | 'unreachable' | 'timeout';

/** Why the desk could not reach the site, in words that say what to fix. */
export class DeskLinkError extends Error {
  constructor(readonly problem: LinkProblem, message: string) {
    super(message);
    this.name = 'DeskLinkError';
  }
}

export interface DeskLinkOptions {
  ledger: Ledger;
  /** mqtt://host:port or mqtts://host:port. */
  url: string;
  /** The operator account (one of the hub's sync.broker_operators); also the desk's peer name. */
  name: string;
  /** Secret: never logged or echoed. */
  password: string;
  /** PEM of the CA that signed the broker's certificate (mqtts://); the system's CAs when absent. */
  ca?: Buffer;
  /** Reconcile on our own (presence, anti-entropy) as a node does: `gdo sync --watch`. Default false. */
  autoSync?: boolean;
  logger?: SyncLogger;
}

export interface ReconcileReport {
  /** The peer reconciled with. */
  peer: string;
  /** A session found nothing to push: the peer holds every event we hold. */
  confirmed: boolean;
  /** Events pushed to the peer / received from it, over every session. */
  sent: number;
  received: number;
  sessions: number;
  error?: string;
}

/** CONNACK return codes (MQTT 3.1.1, 3.2.2.3) and the TLS verification codes of node:tls that a person can act on. */
function classify(err: string, code: unknown, url: string, name: string): DeskLinkError | null {
  const where = `the site's broker at ${url}`;
  if (code === 4 || /bad user ?name or password/i.test(err)) {
    return new DeskLinkError('auth', `${where} refused the password of operator '${name}' (is '${name}' in the hub's sync.broker_operators, and the password 'gdo broker password --name ${name}'?)`);
  }
  if (code === 5 || /not authori[sz]ed/i.test(err)) {
    return new DeskLinkError('not-authorised', `${where} does not let operator '${name}' in (add '${name}' to the hub's sync.broker_operators, or to the Mosquitto password file)`);
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || /does not match certificate's altnames/i.test(err)) {
    return new DeskLinkError('tls-name', `${where}: its certificate is not for this host name (${err}); use the name the certificate was made for`);
  }
  if (typeof code === 'string' && /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED)$/.test(code)) {
    return new DeskLinkError('tls-ca', `${where}: its certificate is not signed by the CA given (${err}); pass the site's CA with --ca FILE (the hub's DATA/ca.crt)`);
  }
  if (typeof code === 'string' && /^(CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_SSL_|EPROTO)/.test(code)) {
    return new DeskLinkError('tls', `${where}: TLS failed (${err})`);
  }
  if (typeof code === 'string' && /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|EAI_AGAIN)$/.test(code)) {
    return new DeskLinkError('unreachable', `cannot reach ${where} (${code})`);
  }
  return null;
}

/** A logger that keeps the last connection failure SyncNode reports and passes the rest on. */
function watchingLogger(next: SyncLogger | undefined, onFailure: (err: string, code: unknown) => void, onDrop: () => void): SyncLogger {
  return {
    debug: (o, m) => next?.debug(o, m),
    info: (o, m) => {
      if (m === 'sync: disconnected') onDrop();
      next?.info(o, m);
    },
    warn: (o, m) => {
      if (m === 'sync: mqtt error') {
        const r = o as { err?: unknown; code?: unknown };
        onFailure(String(r.err ?? ''), r.code);
      }
      next?.warn(o, m);
    },
    error: (o, m) => next?.error(o, m),
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The session's outcome, or 'late' once `deadline` passes (a session queued while disconnected waits for the broker). */
function beforeDeadline(p: Promise<SessionOutcome | null>, deadline: number): Promise<SessionOutcome | null | 'late'> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve('late'), Math.max(0, deadline - Date.now()));
    void p.then((o) => { clearTimeout(t); resolve(o); });
  });
}

export class DeskLink {
  readonly url: string;
  readonly name: string;
  readonly #ledger: Ledger;
  readonly #node: SyncNode;
  #failure: DeskLinkError | null = null;
  #lastError = '';
  #drops = 0;
  #started = false;

  constructor(o: DeskLinkOptions) {
    if (!o.ledger.orgId) throw new Error('the data directory has no genesis yet (gdo init)');
    this.url = o.url;
    this.name = o.name;
    this.#ledger = o.ledger;
    const tls: SyncTls | undefined = o.ca ? { ca: o.ca } : undefined;
    this.#node = new SyncNode({
      ledger: o.ledger, url: o.url, orgId: o.ledger.orgId, nodeName: o.name, username: o.name, password: o.password,
      ...(tls && { tls }),
      // A desk comes and goes: quick retries while a command waits, no anti-entropy of its own unless watching.
      reconnectPeriodMs: 300, liveSyncDelayMs: 300, requestTimeoutMs: 5000, autoSync: o.autoSync ?? false,
      logger: watchingLogger(o.logger, (err, code) => {
        this.#lastError = code !== undefined ? String(code) : err;
        const f = classify(err, code, o.url, o.name);
        // A refusal of the account or the certificate is final, and so is a name or network that does not
        // resolve or route (the laptop is not on the site's network: no point waiting); a refused
        // connection may be a hub restarting, so it is retried until the caller's deadline.
        if (f && (f.problem !== 'unreachable' || !/ECONNREFUSED|ECONNRESET|ETIMEDOUT/.test(f.message))) this.#failure = f;
        else if (f && !this.#failure) this.#lastError = f.message;
      }, () => { this.#drops++; }),
    });
  }

  /** Starts connecting (returns at once; the broker is retried until connect() gives up). */
  async start(): Promise<void> {
    if (this.#started) return;
    this.#started = true;
    await this.#node.start();
  }

  /** Connected within `timeoutMs`, or a DeskLinkError saying why not. */
  async connect(timeoutMs: number): Promise<void> {
    await this.start();
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (this.#failure) throw this.#failure;
      if (this.#node.status().connected) return;
      if (Date.now() >= end) {
        if (this.#drops > 0) throw this.dropped();
        const why = this.#lastError;
        if (/^cannot reach /.test(why)) throw new DeskLinkError('unreachable', why);
        throw new DeskLinkError('timeout', `no answer from the site's broker at ${this.url} within ${(timeoutMs / 1000).toFixed(1)} s${why ? ` (${why})` : ''}`);
      }
      await sleep(20);
    }
  }

  get connected(): boolean { return this.#node.status().connected; }

  /** The broker closed the connection after accepting the login (at least once so far). */
  get wasDropped(): boolean { return this.#drops > 0; }

  /**
   * What a login that the broker then drops means: the account may connect but not subscribe (the embedded
   * broker drops a client at a topic its ACL refuses, docs/sync-protocol.md 6.2), i.e. it is no operator.
   */
  dropped(): DeskLinkError {
    return new DeskLinkError('not-authorised', `the site's broker at ${this.url} let '${this.name}' log in, then closed the connection: is '${this.name}' in the hub's sync.broker_operators (or the Mosquitto ACL file)?`);
  }

  /** Online peers the desk has heard of (their retained presence), hubs of the ledger first. */
  onlinePeers(): string[] {
    const hubs = new Set(this.hubNames());
    return this.#node.status().peers.filter((p) => p.online).map((p) => p.name)
      .sort((a, b) => Number(hubs.has(b)) - Number(hubs.has(a)) || a.localeCompare(b));
  }

  /** Every peer whose presence (online or its last will) the desk has read. */
  knownPeers(): string[] {
    return this.#node.status().peers.map((p) => p.name);
  }

  /** Enrolled, unrevoked nodes of the ledger with the hub role. */
  hubNames(): string[] {
    const out: string[] = [];
    for (const [k, key] of this.#ledger.scan<string>('org/node/')) {
      const rec = this.#ledger.get<KeyRecord>(`org/key/${key}`);
      if (rec && rec.kind === 'node' && !rec.revoked && rec.roles.includes('hub')) out.push(k.slice('org/node/'.length));
    }
    return out.sort();
  }

  /**
   * The peer to prove delivery with: an online hub of the ledger; before any hub is enrolled (the desk
   * approving the hub itself), any online peer. Waits for retained presences until `deadline`.
   */
  async target(deadline: number): Promise<string | null> {
    for (;;) {
      if (this.#failure) throw this.#failure;
      const hubs = this.hubNames();
      const online = this.onlinePeers();
      const hub = online.find((p) => hubs.includes(p)) ?? (hubs.length === 0 ? online[0] : undefined);
      if (hub) return hub;
      if (Date.now() >= deadline) return null;
      await sleep(20);
    }
  }

  /** Publishes events on the desk's live stream: the doors apply them as they arrive. */
  publish(raws: readonly Buffer[]): boolean {
    return this.#node.publishEvents(raws);
  }

  /**
   * Reconciles with `peer` until a session pushes nothing (the peer holds all we hold) or `deadline`
   * passes. Events the peer had and we lacked are ingested into the desk's ledger as they come.
   */
  async reconcile(peer: string, deadline: number): Promise<ReconcileReport> {
    const r: ReconcileReport = { peer, confirmed: false, sent: 0, received: 0, sessions: 0 };
    let pause = 50;
    while (Date.now() < deadline) {
      if (this.#failure) throw this.#failure;
      const o = await beforeDeadline(this.#node.syncWith(peer), deadline);
      if (o === 'late') {
        r.error = 'no answer before the deadline';
        break;
      }
      if (!o) {
        r.error = 'not connected';
        break;
      }
      r.sessions++;
      r.sent += o.pushed;
      r.received += o.received;
      if (o.ok && o.pushed === 0) {
        r.confirmed = true;
        delete r.error;
        break;
      }
      if (!o.ok) r.error = o.error ?? 'session ended early';
      // What we pushed is being ingested by the peer; the next session checks that it is there.
      await sleep(Math.min(pause, Math.max(0, deadline - Date.now())));
      pause = Math.min(pause * 2, 400);
    }
    await this.#node.whenIdle();
    return r;
  }

  /**
   * Reconciles with every other online peer (the doors and machines) as well, until `deadline`. The hub
   * does not re-publish what it receives by reconciliation (docs/sync-protocol.md 3), so what the desk
   * signed while offline reaches an online door now rather than at its next anti-entropy round.
   */
  async reconcileOthers(except: string, deadline: number): Promise<ReconcileReport[]> {
    const out: ReconcileReport[] = [];
    for (const p of this.onlinePeers()) {
      if (p === except || Date.now() >= deadline) continue;
      out.push(await this.reconcile(p, deadline));
    }
    return out;
  }

  /** Sync's counters (events sent and received, sessions) for `gdo sync --watch`. */
  counters(): { eventsSent: number; eventsAccepted: number; sessions: number } {
    const c = this.#node.status().counters;
    return { eventsSent: c.eventsSent, eventsAccepted: c.eventsAccepted, sessions: c.sessions };
  }

  /** Waits for what is being received to be ingested, says goodbye (offline presence) and disconnects. */
  async close(): Promise<void> {
    // What is in flight finishes first, but a link that keeps dropping cannot hold the command open.
    if (this.#started) await Promise.race([this.#node.whenIdle().catch(() => undefined), new Promise((r) => setTimeout(r, 5000).unref())]);
    await this.#node.stop();
  }
}
