// SyncNode's options, limits and status shapes (docs/sync-protocol.md 7 lists the limits).
import type { Ledger } from '../ledger/ledger.ts';
import { DEFAULT_PEER_LIMITS, type PeerLimits } from './rate-limit.ts';
import { MAX_IDS_PER_MESSAGE } from './messages.ts';

/** The pino subset sync logs through: (object, message). */
export interface SyncLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export const silentLogger: SyncLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface SyncTls {
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  /** Default true. */
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface SyncLimits {
  /** Largest RBSR frame this node sends (docs/sync-protocol.md 1.9). Default 64 KiB. */
  frameSizeLimit: number;
  /** Largest payload accepted from the broker; larger ones are rejected unread. Default 1 MiB. */
  maxMessageBytes: number;
  /** EVENTS payloads this node sends are cut at this size. Default 256 KiB. */
  maxEventsMessageBytes: number;
  /** Ids per fetch in one REQUEST, both ways. Default 4096. */
  maxFetch: number;
  /** Round trips per session before it is abandoned. Default 64. */
  maxRounds: number;
  /** Responder settlement (1.14): items per range / per frame. Defaults 2048 / 16384. */
  settleMax: number;
  settleFrameMax: number;
  /**
   * Events per ledger ingest call. Unset: 16 when the ledger commits on the event loop (about
   * 0.2 ms each), 256 when it has a writer thread (agent/sync/ingest-queue.ts).
   */
  ingestChunk: number;
  /** Bytes of received events waiting for ingest. Default 64 MiB. */
  maxQueuedBytes: number;
  /** Received events waiting for ingest, whatever their size. Default 65,536. */
  maxQueuedEvents: number;
  /** Event bytes answered per REQUEST; beyond, the answer is cut with a Busy NACK. Default 8 MiB. */
  maxAnswerBytes: number;
  /** Requests from one peer waiting to be served. Default 4. */
  maxQueuedRequests: number;
  peer: PeerLimits;
}

export const DEFAULT_LIMITS: SyncLimits = {
  frameSizeLimit: 64 * 1024,
  maxMessageBytes: 1024 * 1024,
  maxEventsMessageBytes: 256 * 1024,
  maxFetch: 4096,
  maxRounds: 64,
  settleMax: 2048,
  settleFrameMax: 16_384,
  ingestChunk: 16,
  maxQueuedBytes: 64 * 1024 * 1024,
  maxQueuedEvents: 65_536,
  maxAnswerBytes: 8 * 1024 * 1024,
  maxQueuedRequests: 4,
  peer: DEFAULT_PEER_LIMITS,
};

export interface SyncNodeOptions {
  ledger: Ledger;
  /** mqtt://host:port or mqtts://host:port. */
  url: string;
  /** The organisation (genesis id): 32 bytes or 64 hex digits. */
  orgId: Buffer | string;
  /** This node's name as enrolled (org/node/<name>); also its topic subtree. */
  nodeName: string;
  username?: string;
  password?: string;
  tls?: SyncTls;
  /** Default gdo-<nodeName>-<6 random hex digits>. */
  clientId?: string;
  now?: () => number;
  logger?: SyncLogger;
  /** A reconciliation with one online peer this often. Default 60 s. */
  syncIntervalMs?: number;
  /** The retained presence is refreshed this often when the event count changed. Default 30 s. */
  presenceIntervalMs?: number;
  /** Wait between reconnect attempts. Default 2 s. */
  reconnectPeriodMs?: number;
  /** A session waits this long for each response. Default 15 s. */
  requestTimeoutMs?: number;
  /** After a peer comes online, wait this long for it to reconcile with us before we do. Default 2 s. */
  liveSyncDelayMs?: number;
  /**
   * Reconcile on our own: with each peer found online after (re)connecting, and with one peer
   * every syncIntervalMs. Default true; false leaves sessions to syncWith() (benchmarks, tools).
   */
  autoSync?: boolean;
  limits?: Partial<Omit<SyncLimits, 'peer'>> & { peer?: Partial<PeerLimits> };
}

export interface SyncCounters {
  /** MQTT messages published. */
  published: number;
  /** MQTT messages received from peers. */
  received: number;
  /** Messages dropped (malformed, oversized, replayed, rate-limited, from a muted peer) plus events the ledger rejected. */
  rejected: number;
  /** Payload plus topic bytes received / published. */
  bytesIn: number;
  bytesOut: number;
  /** Reconciliation round trips led by this node. */
  rounds: number;
  sessions: number;
  eventsSent: number;
  eventsReceived: number;
  /** Events from peers the ledger appended (including ones released from pending). */
  eventsAccepted: number;
}

export interface SyncPeerStatus {
  name: string;
  online: boolean;
  /** When we last received anything live from it (ms since the epoch), null if never. */
  lastSeenMs: number | null;
  /** Events we hold beyond the count in its last presence (0 when it is level or ahead), if it announced one. */
  lagEvents?: number;
}

export interface SyncStatus {
  connected: boolean;
  peers: SyncPeerStatus[];
  /** Last successful exchange with any peer (ms since the epoch), null if never: drives the offline policy. */
  lastContactMs: number | null;
  counters: SyncCounters;
}

export function resolveLimits(l: SyncNodeOptions['limits'] = {}): SyncLimits {
  const { peer, ...rest } = l;
  const out: SyncLimits = { ...DEFAULT_LIMITS, ...rest, peer: { ...DEFAULT_PEER_LIMITS, ...(peer ?? {}) } };
  for (const [k, v] of Object.entries(out)) {
    if (k !== 'peer' && (!Number.isInteger(v) || (v as number) < 1)) throw new RangeError(`sync limits.${k} must be a positive integer, got ${String(v)}`);
  }
  for (const [k, v] of Object.entries(out.peer)) {
    if (typeof v !== 'number' || !(v > 0)) throw new RangeError(`sync limits.peer.${k} must be a positive number, got ${String(v)}`);
  }
  if (out.maxEventsMessageBytes > out.maxMessageBytes) throw new RangeError('sync limits.maxEventsMessageBytes must not exceed maxMessageBytes');
  if (out.maxFetch > MAX_IDS_PER_MESSAGE) throw new RangeError(`sync limits.maxFetch must not exceed ${MAX_IDS_PER_MESSAGE}, the ids a REQUEST may carry`);
  if (out.settleFrameMax > MAX_IDS_PER_MESSAGE) throw new RangeError(`sync limits.settleFrameMax must not exceed ${MAX_IDS_PER_MESSAGE}, the need indexes a RESPONSE may carry`);
  if (out.frameSizeLimit + 1024 > out.maxMessageBytes) throw new RangeError('sync limits.frameSizeLimit must leave room within maxMessageBytes');
  return out;
}
