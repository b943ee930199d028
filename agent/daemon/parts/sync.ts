// Peer sync and the embedded broker: THE FACTORY HOOKS for agent/sync (the sync helper's SyncNode and
// startEmbeddedBroker). Until they are wired in here, a configured broker makes these parts fail with a
// clear message and retry with backoff; the rest of the agent (doors, machines, status) runs without sync.
import type { Ledger } from '../../ledger/ledger.ts';
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
}

export interface SyncContext {
  ledger: Ledger;
  config: AgentConfig;
  /** The broker to connect to: the URL from the config, or the embedded broker's address. */
  brokerUrl: string;
  /** From sync.username and sync.password_file, when set. Secret: never log it. */
  credentials?: { username?: string; password?: string };
  log: Logger;
}

export interface BrokerService {
  /** Resolves with the URL local clients use (mqtt://127.0.0.1:PORT). */
  start(): Promise<{ url: string }>;
  stop(): Promise<void>;
  status(): { clients: number };
}

export interface BrokerContext {
  listen: { host: string; port: number };
  credentials?: { username?: string; password?: string };
  log: Logger;
}

export type SyncFactory = (ctx: SyncContext) => SyncService;
export type BrokerFactory = (ctx: BrokerContext) => BrokerService;

const NOT_WIRED = 'is not wired into this build of the agent yet (agent/daemon/parts/sync.ts)';

// The lead replaces these with agent/sync's SyncNode and startEmbeddedBroker.
export const createSync: SyncFactory = () => { throw new Error(`peer sync ${NOT_WIRED}`); };
export const createBroker: BrokerFactory = () => { throw new Error(`the embedded broker ${NOT_WIRED}`); };

export class BrokerPart implements Part {
  readonly name = 'broker';
  readonly #make: () => BrokerService;
  #service: BrokerService | undefined;
  #url: string | undefined;

  constructor(make: () => BrokerService) {
    this.#make = make;
  }

  get url(): string | undefined { return this.#url; }
  get service(): BrokerService | undefined { return this.#service; }

  async start(): Promise<void> {
    const s = this.#make();
    this.#url = (await s.start()).url;
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
    // Losing the broker is normal life for a node (STYLE.md habit 6): reported, healed by the sync itself.
    return st.state === 'connected' ? { state: 'ok' } : { state: 'degraded', detail: st.detail ?? st.state };
  }
}
