// Per-peer admission control (docs/sync-protocol.md 7): token buckets on messages, bytes and
// requests, and strikes for payloads that fail to decode or verify. Enough strikes mute a peer
// for a while, so a broken or hostile node costs us little. Peers are keyed by the name in the
// topic; the table is bounded, so made-up names on an open broker cannot grow memory.

export interface PeerLimits {
  messagesPerSec: number;
  messageBurst: number;
  bytesPerSec: number;
  byteBurst: number;
  /** Requests (reconciliation frames and fetches) served per second. */
  requestsPerSec: number;
  requestBurst: number;
  /** Event bytes answered to one peer per second, and at most in a burst (sync-protocol.md 7). */
  answerBytesPerSec: number;
  answerByteBurst: number;
  /** Strikes that mute a peer; one strike decays every `strikeDecayMs`. */
  strikeLimit: number;
  strikeDecayMs: number;
  muteMs: number;
  /** Peers tracked at once; the least recently seen is forgotten first. */
  maxPeers: number;
}

export const DEFAULT_PEER_LIMITS: PeerLimits = {
  messagesPerSec: 200,
  messageBurst: 1000,
  bytesPerSec: 8 * 1024 * 1024,
  byteBurst: 32 * 1024 * 1024,
  requestsPerSec: 20,
  requestBurst: 60,
  answerBytesPerSec: 1024 * 1024,
  answerByteBurst: 8 * 1024 * 1024,
  strikeLimit: 20,
  strikeDecayMs: 3000,
  muteMs: 60_000,
  maxPeers: 1024,
};

class Bucket {
  private tokens: number;
  private last: number;
  constructor(private readonly rate: number, private readonly burst: number, now: number) {
    this.tokens = burst;
    this.last = now;
  }
  take(n: number, now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < n) return false;
    this.tokens -= n;
    return true;
  }
}

interface PeerState {
  messages: Bucket;
  bytes: Bucket;
  requests: Bucket;
  answers: Bucket;
  strikes: number;
  strikeAt: number;
  mutedUntil: number;
}

export type Admission = 'ok' | 'rate' | 'muted';

export class PeerGuard {
  private readonly peers = new Map<string, PeerState>();

  constructor(private readonly limits: PeerLimits, private readonly now: () => number) {}

  /** Whether to look at a message of `bytes` from `peer` at all. */
  admit(peer: string, bytes: number): Admission {
    const t = this.now();
    const p = this.state(peer, t);
    if (p.mutedUntil > t) return 'muted';
    if (!p.messages.take(1, t) || !p.bytes.take(bytes, t)) return 'rate';
    return 'ok';
  }

  /** Whether to serve one more request from `peer`. */
  admitRequest(peer: string): boolean {
    const t = this.now();
    return this.state(peer, t).requests.take(1, t);
  }

  /** Whether `bytes` more may be answered to `peer` now (taken from its answer bucket if so). */
  takeAnswer(peer: string, bytes: number): boolean {
    const t = this.now();
    return this.state(peer, t).answers.take(bytes, t);
  }

  /** Records a bad payload; returns true when this strike mutes the peer. */
  strike(peer: string, weight = 1): boolean {
    const t = this.now();
    const p = this.state(peer, t);
    const decayed = Math.floor((t - p.strikeAt) / this.limits.strikeDecayMs);
    if (decayed > 0) {
      p.strikes = Math.max(0, p.strikes - decayed);
      p.strikeAt = t;
    }
    p.strikes += weight;
    if (p.strikes >= this.limits.strikeLimit && p.mutedUntil <= t) {
      p.mutedUntil = t + this.limits.muteMs;
      p.strikes = 0;
      return true;
    }
    return false;
  }

  isMuted(peer: string): boolean {
    const p = this.peers.get(peer);
    return p !== undefined && p.mutedUntil > this.now();
  }

  private state(peer: string, t: number): PeerState {
    let p = this.peers.get(peer);
    if (p) {
      // Re-insert: the map's order is least recently seen first.
      this.peers.delete(peer);
      this.peers.set(peer, p);
      return p;
    }
    const l = this.limits;
    p = {
      messages: new Bucket(l.messagesPerSec, l.messageBurst, t),
      bytes: new Bucket(l.bytesPerSec, l.byteBurst, t),
      requests: new Bucket(l.requestsPerSec, l.requestBurst, t),
      answers: new Bucket(l.answerBytesPerSec, l.answerByteBurst, t),
      strikes: 0,
      strikeAt: t,
      mutedUntil: 0,
    };
    if (this.peers.size >= l.maxPeers) this.peers.delete(this.peers.keys().next().value as string);
    this.peers.set(peer, p);
    return p;
  }
}

/** A bounded set of recent payload digests: exact replays (and QoS 1 duplicates) are dropped. */
export class RecentSet {
  private readonly seen = new Set<string>();
  constructor(private readonly capacity: number) {}
  /** True if `key` was seen recently; otherwise remembers it. */
  checkAndAdd(key: string): boolean {
    if (this.seen.has(key)) return true;
    this.seen.add(key);
    if (this.seen.size > this.capacity) this.seen.delete(this.seen.values().next().value as string);
    return false;
  }
}
