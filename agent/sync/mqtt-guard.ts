// What stands in front of the embedded broker (docs/sync-protocol.md 6.7): aedes reads a whole packet
// before it looks at it, CONNECT included, so an anonymous client announcing a 256 MB CONNECT had the hub
// buffer it before any password was checked. The guard reads each packet's fixed header as the bytes
// arrive (MQTT 3.1.1 §2.2: one type byte, then the Remaining Length in at most four bytes, §2.2.3) and cuts
// the connection as soon as a length is over its bound, before the body is buffered anywhere; the bound is
// small until the client has logged in. It also counts connections (in all, and not yet logged in per
// source address) and cuts those that have not logged in within a timeout.
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

export interface GuardLimits {
  /** Largest packet (fixed header included) of a logged-in client, as Mosquitto's max_packet_size counts. */
  maxPacketBytes: number;
  /** Largest packet before the login succeeded: the CONNECT (client id, will, user name, password). */
  maxConnectBytes: number;
  /** From TCP accept to a successful login (the TLS handshake included). */
  connectTimeoutMs: number;
  /** Connections at once, logged in or not; more are closed at accept. */
  maxConnections: number;
  /** Connections not logged in yet from one source address; more are closed at accept. */
  maxPendingPerAddress: number;
  /** Connections not logged in yet in all; at the bound the oldest of them is cut for the new one. */
  maxPending: number;
}

export const DEFAULT_GUARD_LIMITS: Readonly<GuardLimits> = Object.freeze({
  maxPacketBytes: 1060864, // 1 MiB + 12 KiB, the max_packet_size of the generated mosquitto.conf
  maxConnectBytes: 8192,
  connectTimeoutMs: 10_000,
  maxConnections: 1024,
  maxPendingPerAddress: 16,
  maxPending: 64,
});

/**
 * Follows packet boundaries through a byte stream by their fixed headers alone. feed() says why the stream
 * must be cut (a packet over its bound, a Remaining Length over four bytes, a first packet that is not
 * CONNECT, §3.1), or null.
 */
export class FixedHeaderScanner {
  #state: 'type' | 'length' | 'body' = 'type';
  #length = 0;
  #mult = 1;
  #lengthBytes = 0;
  #left = 0;
  #packets = 0;
  readonly #limit: (first: boolean) => number;

  constructor(limit: (first: boolean) => number) { this.#limit = limit; }

  feed(chunk: Buffer): string | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.#state === 'body') {
        const n = Math.min(this.#left, chunk.length - i);
        this.#left -= n;
        i += n;
        if (this.#left === 0) this.#state = 'type';
        continue;
      }
      const b = chunk[i++]!;
      if (this.#state === 'type') {
        if (this.#packets === 0 && b >> 4 !== 1) return 'the first packet is not CONNECT';
        this.#state = 'length';
        this.#length = 0;
        this.#mult = 1;
        this.#lengthBytes = 0;
        continue;
      }
      this.#length += (b & 0x7f) * this.#mult;
      this.#mult *= 128;
      this.#lengthBytes++;
      if (b & 0x80) {
        if (this.#lengthBytes === 4) return 'a Remaining Length longer than four bytes';
        continue;
      }
      const total = 1 + this.#lengthBytes + this.#length;
      const limit = this.#limit(this.#packets === 0);
      if (total > limit) return `a packet of ${total} bytes, limit ${limit}`;
      this.#packets++;
      this.#left = this.#length;
      this.#state = this.#left === 0 ? 'type' : 'body';
    }
    return null;
  }
}

/** The socket as aedes sees it: bytes pass unchanged once their headers are within bounds. */
class GuardedStream extends Duplex {
  readonly #sock: Socket;

  constructor(sock: Socket, scanner: FixedHeaderScanner) {
    super();
    this.#sock = sock;
    sock.on('data', (chunk: Buffer) => {
      if (scanner.feed(chunk) !== null) { sock.destroy(); return; }
      if (!this.push(chunk)) sock.pause();
    });
    sock.once('end', () => { this.push(null); });
    sock.once('close', () => { this.destroy(); });
    sock.on('error', () => { this.destroy(); });
  }

  override _read(): void { this.#sock.resume(); }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.#sock.destroyed) { cb(); return; }
    if (this.#sock.write(chunk)) cb();
    else this.#sock.once('drain', () => { cb(); });
  }

  override _final(cb: (err?: Error | null) => void): void { this.#sock.end(); cb(); }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.#sock.destroy();
    cb(err);
  }
}

interface Entry { raw: Socket; address: string; loggedIn: boolean; timer: NodeJS.Timeout }

/** Admission of connections to one listener, and the login state that sets a connection's packet bound. */
export class ConnectionGuard {
  readonly limits: GuardLimits;
  // Keyed by remote address and port, which the raw TCP socket and the TLS socket over it share.
  readonly #entries = new Map<string, Entry>();
  // Insertion order is arrival order: the first is the oldest not logged in.
  readonly #pending = new Set<Entry>();
  readonly #pendingPer = new Map<string, number>();

  constructor(limits: Partial<GuardLimits> = {}) {
    this.limits = { ...DEFAULT_GUARD_LIMITS, ...limits };
  }

  /** At TCP accept: whether the connection may stay. A refused one is already destroyed. */
  admit(raw: Socket): boolean {
    const address = raw.remoteAddress ?? '';
    const key = keyOf(raw);
    if (key === null || this.#entries.size >= this.limits.maxConnections || (this.#pendingPer.get(address) ?? 0) >= this.limits.maxPendingPerAddress) {
      raw.destroy();
      return false;
    }
    if (this.#pending.size >= this.limits.maxPending) {
      const oldest = this.#pending.values().next().value;
      if (oldest) oldest.raw.destroy();
      if (oldest) this.#forget(oldest);
    }
    const entry: Entry = { raw, address, loggedIn: false, timer: setTimeout(() => { raw.destroy(); }, this.limits.connectTimeoutMs) };
    entry.timer.unref();
    this.#entries.set(key, entry);
    this.#pending.add(entry);
    this.#pendingPer.set(address, (this.#pendingPer.get(address) ?? 0) + 1);
    raw.once('close', () => { if (this.#entries.get(key) === entry) { this.#forget(entry); this.#entries.delete(key); } });
    return true;
  }

  /** The stream to hand aedes for `sock` (the raw socket, or the TLS socket over it). */
  wrap(sock: Socket): Duplex {
    const entry = this.#entryOf(sock);
    const scanner = new FixedHeaderScanner((first) => (!first && entry?.loggedIn ? this.limits.maxPacketBytes : this.limits.maxConnectBytes));
    return new GuardedStream(sock, scanner);
  }

  /** The client on `sock` logged in: the timeout stops, the logged-in packet bound applies. */
  loggedIn(sock: Socket): void {
    const entry = this.#entryOf(sock);
    if (!entry || entry.loggedIn) return;
    entry.loggedIn = true;
    this.#forget(entry);
  }

  /** Connections open now, and those of them not logged in. */
  counts(): { open: number; pending: number } {
    return { open: this.#entries.size, pending: this.#pending.size };
  }

  #entryOf(sock: Socket): Entry | undefined {
    const key = keyOf(sock);
    return key === null ? undefined : this.#entries.get(key);
  }

  #forget(entry: Entry): void {
    clearTimeout(entry.timer);
    if (!this.#pending.delete(entry)) return;
    const n = (this.#pendingPer.get(entry.address) ?? 1) - 1;
    if (n > 0) this.#pendingPer.set(entry.address, n);
    else this.#pendingPer.delete(entry.address);
  }
}

function keyOf(sock: Socket): string | null {
  return sock.remoteAddress !== undefined && sock.remotePort !== undefined ? `${sock.remoteAddress}|${sock.remotePort}` : null;
}
