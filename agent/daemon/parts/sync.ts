// Peer sync (agent/sync SyncNode) and, on a hub, the embedded broker (startEmbeddedBroker), as supervised
// parts behind small interfaces, so tests and the simulated site can put their own in. Losing the broker
// is normal life for a node (docs/design-notes.md habit 6): sync reports it as degraded and reconnects by itself.
// agent/sync is loaded only when sync is configured: mqtt and aedes are most of the bundle and a
// standalone door node never needs them.
import { readFileSync } from 'node:fs';
import type { Ledger } from '../../ledger/ledger.ts';
import type { SyncTls } from '../../sync/options.ts';
import type { AgentConfig } from '../config/index.ts';
import type { Logger } from '../log.ts';
import type { Part, PartHealth } from '../supervisor.ts';

export interface PeerStatus {
  name: string;
  /** Events this peer is known to miss or to have that we miss; absent when unknown. */
  lag_events?: number;
  last_seen?: string;
  connected?: boolean;
}

export interface SyncStatus {
  state: 'connecting' | 'connected' | 'disconnected' | 'stopped';
  detail?: string;
  peers: PeerStatus[];
  /** Monotonic counters exported on /metrics as gdo_sync_<name>_total (messages, events sent/received...). */
  counters: Record<string, number>;
}

export interface SyncService {
  start(): Promise<void>;
  stop(): Promise<void>;
  status(): SyncStatus;
  /** Epoch ms of the last successful exchange with any peer, null when none yet (access max_offline_ms). */
  lastContact(): number | null;
  /** Publishes this node's presence at once (after its broker's accounts changed). */
  announce(): void;
}

export interface SyncContext {
  ledger: Ledger;
  config: AgentConfig;
  /** The broker to connect to: the URL from the config, or the embedded broker's address. */
  brokerUrl: string;
  /** From sync.username and sync.password_file, when set; on a hub, what its embedded broker gave. Secret: never log it. */
  credentials?: { username?: string; password?: string };
  /** For mqtts:// and wss://: the CA (sync.ca_file) and, on a hub, the name its own certificate carries. */
  tls?: SyncTls;
  log: Logger;
}

export interface BrokerService {
  /**
   * Resolves with the URL local clients use (mqtts://127.0.0.1:PORT, mqtt:// without TLS), what they verify
   * it with, and, when the broker has accounts, the credentials this node's own sync and enrolment log in with.
   */
  start(): Promise<{ url: string; credentials?: { username: string; password: string }; tls?: SyncTls }>;
  stop(): Promise<void>;
}

export interface BrokerContext {
  listen: { host: string; port: number };
  /** The accounts come from this ledger's node list (docs/sync-protocol.md 6). */
  ledger: Ledger;
  config: AgentConfig;
  log: Logger;
}

export type SyncFactory = (ctx: SyncContext) => SyncService;
export type BrokerFactory = (ctx: BrokerContext) => BrokerService;

/** SyncNode on this node's ledger, named as enrolled, to the configured broker. */
export const ledgerSync: SyncFactory = (ctx) => {
  const org = ctx.config.org !== '' ? ctx.config.org : ctx.ledger.orgId?.toString('hex');
  if (!org) throw new Error('no organisation to sync: the ledger has no genesis yet (first boot has not run)');
  let node: import('../../sync/sync-node.ts').SyncNode | undefined;
  const empty = { published: 0, received: 0, rejected: 0, bytesIn: 0, bytesOut: 0, rounds: 0, sessions: 0, eventsSent: 0, eventsReceived: 0, eventsAccepted: 0 };
  return {
    async start() {
      const { SyncNode } = await import('../../sync/sync-node.ts');
      node = new SyncNode({
        ledger: ctx.ledger, url: ctx.brokerUrl, orgId: org, nodeName: ctx.config.node.name, logger: ctx.log,
        ...(ctx.credentials?.username !== undefined && { username: ctx.credentials.username }),
        ...(ctx.credentials?.password !== undefined && { password: ctx.credentials.password }),
        ...(ctx.tls && { tls: ctx.tls }),
      });
      await node.start();
    },
    async stop() { await node?.stop(); },
    status() {
      const s = node?.status();
      return {
        state: !node ? 'stopped' : s?.connected ? 'connected' : 'connecting',
        ...(!s?.connected && { detail: `no broker at ${redactUrl(ctx.brokerUrl)}` }),
        peers: (s?.peers ?? []).map((p) => ({
          name: p.name, connected: p.online,
          ...(p.lagEvents !== undefined && { lag_events: p.lagEvents }),
          ...(p.lastSeenMs !== null && { last_seen: new Date(p.lastSeenMs).toISOString() }),
        })),
        counters: { ...(s?.counters ?? empty) },
      };
    },
    lastContact: () => node?.status().lastContactMs ?? null,
    announce: () => node?.announce(),
  };
};

/** What a client verifies an mqtts:// or wss:// broker with: sync.ca_file, or the system's CAs when it is "";
 *  a hub adds the name its own certificate carries (`servername`). Undefined for plain URLs. */
export function clientTls(sync: { ca_file: string }, url: string, servername?: string): SyncTls | undefined {
  if (!/^(mqtts|wss):\/\//.test(url)) return undefined;
  const tls: SyncTls = { rejectUnauthorized: true };
  if (sync.ca_file !== '') {
    try { tls.ca = readFileSync(sync.ca_file, 'utf8'); } catch (err) {
      throw new Error(`sync.ca_file: cannot read ${sync.ca_file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); it is the site CA certificate, ca.crt, from provisioning or the admin's data directory`);
    }
  }
  if (servername !== undefined) tls.servername = servername;
  return tls;
}

/**
 * The hub's broker inside the agent (parts/hub-broker.ts): accounts from the ledger and the broker secret
 * (sync.broker_secret_file), rebuilt on every org event; it refuses to start without the secret. It listens
 * with TLS unless sync.tls_cert_file is "". Local clients (this node's own sync and enrolment) connect over
 * loopback with the same TLS the nodes use, checking the name in the broker's certificate against
 * sync.ca_file: one listener and one code path, so a certificate nodes would refuse fails on the hub first
 * (docs/sync-protocol.md 6.6).
 */
export const embeddedBroker: BrokerFactory = (ctx) => {
  let hub: import('./hub-broker.ts').HubBroker | undefined;
  return {
    async start() {
      const { startHubBroker } = await import('./hub-broker.ts');
      const cfg = ctx.config;
      hub = await startHubBroker({
        host: ctx.listen.host, port: ctx.listen.port, ledger: ctx.ledger, secretFile: cfg.sync.broker_secret_file,
        nodeName: cfg.node.name, operators: cfg.sync.broker_operators, log: ctx.log,
        ...(cfg.sync.tls_cert_file !== '' && { tls: { certFile: cfg.sync.tls_cert_file, keyFile: cfg.sync.tls_key_file } }),
      });
      const broker = hub.broker;
      const local = broker.host === '0.0.0.0' || broker.host === '::' ? '127.0.0.1' : broker.host;
      const scheme = hub.servername !== undefined ? 'mqtts' : 'mqtt';
      ctx.log.info({ listen: `${broker.host}:${broker.port}`, tls: hub.servername ?? false }, `embedded broker listening on ${broker.host}:${broker.port}`);
      const url = `${scheme}://${local.includes(':') ? `[${local}]` : local}:${broker.port}`;
      if (hub.servername !== undefined && cfg.sync.ca_file === '') {
        ctx.log.warn({}, 'sync.ca_file is "": this hub\'s own sync checks its broker\'s certificate against the system\'s CAs, which do not know a site CA; set sync.ca_file to ca.crt');
      }
      const tls = clientTls(cfg.sync, url, hub.servername);
      return { url, credentials: hub.credentials, ...(tls && { tls }) };
    },
    async stop() { await hub?.stop(); },
  };
};

// The factories the daemon uses unless told otherwise (tests and the simulated site pass their own).
export const createSync: SyncFactory = ledgerSync;
export const createBroker: BrokerFactory = embeddedBroker;

/** A broker URL without its password, for status and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = 'redacted';
    return u.toString();
  } catch {
    return url;
  }
}

export class BrokerPart implements Part {
  readonly name = 'broker';
  readonly deps = ['ledger'];
  readonly #make: () => BrokerService;
  #service: BrokerService | undefined;
  #url: string | undefined;
  #credentials: { username: string; password: string } | undefined;
  #tls: SyncTls | undefined;

  constructor(make: () => BrokerService) {
    this.#make = make;
  }

  get url(): string | undefined { return this.#url; }
  /** How this node's own clients log in to the broker; undefined for a broker without accounts. */
  get credentials(): { username: string; password: string } | undefined { return this.#credentials; }
  get service(): BrokerService | undefined { return this.#service; }
  /** What this node's own clients verify the broker with (loopback TLS); undefined for plain TCP. */
  get tls(): SyncTls | undefined { return this.#tls; }

  async start(): Promise<void> {
    const s = this.#make();
    const r = await s.start();
    this.#url = r.url;
    this.#credentials = r.credentials;
    this.#tls = r.tls;
    this.#service = s;
  }

  async stop(): Promise<void> {
    const s = this.#service;
    this.#service = undefined;
    await s?.stop();
  }

  health(): PartHealth {
    return this.#service ? { state: 'ok' } : { state: 'failed', detail: 'not running' };
  }
}

export class SyncPart implements Part {
  readonly name = 'sync';
  readonly deps: readonly string[];
  readonly #make: () => SyncService;
  #service: SyncService | undefined;

  constructor(make: () => SyncService, embedded: boolean) {
    this.#make = make;
    this.deps = embedded ? ['ledger', 'broker'] : ['ledger'];
  }

  get service(): SyncService | undefined { return this.#service; }

  async start(): Promise<void> {
    const s = this.#make();
    await s.start();
    this.#service = s;
  }

  async stop(): Promise<void> {
    const s = this.#service;
    this.#service = undefined;
    await s?.stop();
  }

  health(): PartHealth {
    if (!this.#service) return { state: 'failed', detail: 'not running' };
    const st = this.#service.status();
    // Losing the broker is normal life for a node (docs/design-notes.md habit 6): reported, healed by the sync itself.
    return st.state === 'connected' ? { state: 'ok' } : { state: 'degraded', detail: st.detail ?? st.state };
  }
}
