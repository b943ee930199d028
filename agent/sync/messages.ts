// Binary payloads of the sync protocol (docs/sync-protocol.md 3-4). Every payload comes from
// an untrusted peer: decoding checks each length against the bytes left before allocating,
// rejects trailing bytes, and fails with a SyncMessageError naming what was wrong.
import { decodeVarint, encodeVarint } from './rbsr/varint.ts';

export const SYNC_VERSION = 0x01;
export const MsgType = { Events: 1, Request: 2, Response: 3, Nack: 4 } as const;
/** Shortest id prefix a fetch may name: 64 bits, so no one can make a prefix match a chosen id. */
export const MIN_FETCH_PREFIX = 8;
export const DEFAULT_FETCH_PREFIX = 8;
export const NACK_REASON_MAX = 200;

export const NackCode = { BadRequest: 1, Busy: 2, Version: 3 } as const;
export type NackCodeValue = (typeof NackCode)[keyof typeof NackCode];

/** EVENTS flag: more messages of the same batch follow (sync-protocol.md 3.1). */
export const EVENTS_MORE = 0x01;

/**
 * The shortest event encoding there is (docs/ledger-format.md, "Event fields"): version 1, org 32,
 * author 32, seq 4, prev 32, parent count 1, hlc 8, a dapp and a type of one character each with
 * their length bytes (2 + 2), the body length 4 and a body of at least one byte, the signature 64.
 * An EVENTS message may not carry anything shorter, so its item count is bounded by its size
 * (sync-protocol.md 7): a zero-length "event" per byte is refused at the decoder, not queued.
 */
export const MIN_EVENT_BYTES = 1 + 32 + 32 + 4 + 32 + 1 + 8 + 2 + 2 + 4 + 1 + 64;
/** Largest event encoding (docs/ledger-format.md): a longer item is refused at the decoder too. */
export const MAX_EVENT_ITEM_BYTES = 65_536;
/** Events in one EVENTS message at most (sync-protocol.md 7); packEvents cuts batches here too. */
export const MAX_EVENTS_PER_MESSAGE = 4096;
/** Fetch ids in one REQUEST, and need indexes in one RESPONSE, at most (sync-protocol.md 7). */
export const MAX_IDS_PER_MESSAGE = 16_384;

export type SyncMessage =
  | { type: 'events'; session: number; more: boolean; events: Buffer[] }
  | { type: 'request'; session: number; frame: Buffer | null; fetch: Buffer[] }
  | { type: 'response'; session: number; frame: Buffer | null; needIndexes: number[] }
  | { type: 'nack'; session: number; code: NackCodeValue; reason: string };

export class SyncMessageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SyncMessageError';
  }
}

function header(type: number, session: number): Buffer {
  if (!Number.isInteger(session) || session < 0 || session > 0xffffffff) throw new RangeError(`session must be a u32, got ${session}`);
  const h = Buffer.allocUnsafe(6);
  h[0] = SYNC_VERSION;
  h[1] = type;
  h.writeUInt32BE(session, 2);
  return h;
}

export function encodeEvents(session: number, events: readonly Buffer[], more = false): Buffer {
  const parts: Buffer[] = [header(MsgType.Events, session), Buffer.from([more ? EVENTS_MORE : 0]), encodeVarint(events.length)];
  for (const e of events) parts.push(encodeVarint(e.length), e);
  return Buffer.concat(parts);
}

/**
 * Splits one batch of events into EVENTS payloads of at most `maxBytes` each (an event larger
 * than that travels alone), flagged MORE on all but the last, so the receiver can ingest the
 * batch at once. Order is kept, so parents sent before children arrive first. Payloads are
 * encoded as they are taken, so a sender can yield to the event loop between them.
 */
export function* packEvents(session: number, events: readonly Buffer[], maxBytes: number): Generator<Buffer> {
  const groups: Buffer[][] = [];
  let batch: Buffer[] = [];
  let size = 16;
  for (const e of events) {
    const add = e.length + encodeVarint(e.length).length;
    if (batch.length > 0 && (size + add > maxBytes || batch.length >= MAX_EVENTS_PER_MESSAGE)) {
      groups.push(batch);
      batch = [];
      size = 16;
    }
    batch.push(e);
    size += add;
  }
  if (batch.length > 0) groups.push(batch);
  for (let i = 0; i < groups.length; i++) yield encodeEvents(session, groups[i]!, i < groups.length - 1);
}

export function encodeRequest(session: number, frame: Buffer | null, fetch: readonly Buffer[], prefixLen = DEFAULT_FETCH_PREFIX): Buffer {
  if (prefixLen < MIN_FETCH_PREFIX || prefixLen > 32) throw new RangeError(`fetch prefix length must be ${MIN_FETCH_PREFIX}..32, got ${prefixLen}`);
  const f = frame ?? Buffer.alloc(0);
  const parts: Buffer[] = [header(MsgType.Request, session), encodeVarint(f.length), f, Buffer.from([prefixLen]), encodeVarint(fetch.length)];
  for (const id of fetch) {
    if (id.length < prefixLen) throw new RangeError(`fetch id of ${id.length} bytes is shorter than the prefix length ${prefixLen}`);
    parts.push(id.subarray(0, prefixLen));
  }
  return Buffer.concat(parts);
}

export function encodeResponse(session: number, frame: Buffer | null, needIndexes: readonly number[]): Buffer {
  const f = frame ?? Buffer.alloc(0);
  const parts: Buffer[] = [header(MsgType.Response, session), encodeVarint(f.length), f, encodeVarint(needIndexes.length)];
  let prev = -1;
  for (const i of needIndexes) {
    if (!Number.isInteger(i) || i <= prev) throw new RangeError('need indexes must be ascending integers');
    parts.push(encodeVarint(i - prev - 1));
    prev = i;
  }
  return Buffer.concat(parts);
}

export function encodeNack(session: number, code: NackCodeValue, reason: string): Buffer {
  let r = Buffer.from(reason, 'utf8');
  if (r.length > NACK_REASON_MAX) r = r.subarray(0, NACK_REASON_MAX);
  return Buffer.concat([header(MsgType.Nack, session), Buffer.from([code]), encodeVarint(r.length), r]);
}

class Cursor {
  o = 0;
  constructor(readonly b: Buffer) {}
  left(): number { return this.b.length - this.o; }
  varint(what: string): number {
    try {
      const v = decodeVarint(this.b, this.o);
      this.o = v.next;
      return v.value;
    } catch (e) {
      throw new SyncMessageError(`${what}: ${(e as Error).message}`);
    }
  }
  bytes(n: number, what: string): Buffer {
    if (n > this.left()) throw new SyncMessageError(`${what}: needs ${n} bytes at offset ${this.o}, ${this.left()} left`);
    const v = this.b.subarray(this.o, this.o + n);
    this.o += n;
    return v;
  }
  u8(what: string): number { return this.bytes(1, what)[0]!; }
}

/** Decodes a payload from the events or direct topics. Throws SyncMessageError. */
export function decodeMessage(buf: Buffer): SyncMessage {
  if (buf.length < 6) throw new SyncMessageError(`message of ${buf.length} bytes is shorter than its 6-byte header`);
  if (buf[0] !== SYNC_VERSION) throw new SyncMessageError(`sync protocol version ${buf[0]} not supported, expected ${SYNC_VERSION}`);
  const type = buf[1]!;
  const session = buf.readUInt32BE(2);
  const c = new Cursor(buf);
  c.o = 6;
  let msg: SyncMessage;
  switch (type) {
    case MsgType.Events: {
      const flags = c.u8('events flags');
      if ((flags & ~EVENTS_MORE) !== 0) throw new SyncMessageError(`unknown events flags 0x${flags.toString(16)}`);
      const n = c.varint('event count');
      if (n > MAX_EVENTS_PER_MESSAGE) throw new SyncMessageError(`event count ${n}, at most ${MAX_EVENTS_PER_MESSAGE} per message`);
      // Each event needs a length byte and MIN_EVENT_BYTES: a count above what the bytes left can hold is a lie.
      if (n * (MIN_EVENT_BYTES + 1) > c.left()) throw new SyncMessageError(`event count ${n} exceeds what the ${c.left()} bytes left can hold (${MIN_EVENT_BYTES} bytes per event at least)`);
      const events: Buffer[] = [];
      for (let i = 0; i < n; i++) {
        const len = c.varint(`event ${i} length`);
        if (len < MIN_EVENT_BYTES) throw new SyncMessageError(`event ${i} of ${len} bytes is shorter than the ${MIN_EVENT_BYTES} bytes of the smallest event`);
        if (len > MAX_EVENT_ITEM_BYTES) throw new SyncMessageError(`event ${i} of ${len} bytes, at most ${MAX_EVENT_ITEM_BYTES}`);
        events.push(c.bytes(len, `event ${i}`));
      }
      msg = { type: 'events', session, more: flags === EVENTS_MORE, events };
      break;
    }
    case MsgType.Request: {
      const frameLen = c.varint('frame length');
      const frame = c.bytes(frameLen, 'frame');
      const prefixLen = c.u8('fetch prefix length');
      if (prefixLen < MIN_FETCH_PREFIX || prefixLen > 32) throw new SyncMessageError(`fetch prefix length must be ${MIN_FETCH_PREFIX}..32, got ${prefixLen}`);
      const n = c.varint('fetch count');
      if (n > MAX_IDS_PER_MESSAGE) throw new SyncMessageError(`fetch count ${n}, at most ${MAX_IDS_PER_MESSAGE} per request`);
      if (n * prefixLen > c.left()) throw new SyncMessageError(`fetch count ${n} x ${prefixLen} bytes exceeds the ${c.left()} bytes left`);
      const fetch: Buffer[] = [];
      for (let i = 0; i < n; i++) fetch.push(c.bytes(prefixLen, `fetch ${i}`));
      msg = { type: 'request', session, frame: frameLen > 0 ? frame : null, fetch };
      break;
    }
    case MsgType.Response: {
      const frameLen = c.varint('frame length');
      const frame = c.bytes(frameLen, 'frame');
      const n = c.varint('need index count');
      if (n > MAX_IDS_PER_MESSAGE) throw new SyncMessageError(`need index count ${n}, at most ${MAX_IDS_PER_MESSAGE} per response`);
      if (n > c.left()) throw new SyncMessageError(`need index count ${n} exceeds the ${c.left()} bytes left`);
      const needIndexes: number[] = [];
      let prev = -1;
      for (let i = 0; i < n; i++) {
        prev = prev + 1 + c.varint(`need index ${i}`);
        if (!Number.isSafeInteger(prev)) throw new SyncMessageError(`need index ${i} overflows`);
        needIndexes.push(prev);
      }
      msg = { type: 'response', session, frame: frameLen > 0 ? frame : null, needIndexes };
      break;
    }
    case MsgType.Nack: {
      const code = c.u8('nack code');
      if (code !== NackCode.BadRequest && code !== NackCode.Busy && code !== NackCode.Version) throw new SyncMessageError(`unknown nack code ${code}`);
      const len = c.varint('nack reason length');
      if (len > NACK_REASON_MAX) throw new SyncMessageError(`nack reason of ${len} bytes, at most ${NACK_REASON_MAX}`);
      msg = { type: 'nack', session, code, reason: c.bytes(len, 'nack reason').toString('utf8') };
      break;
    }
    default:
      throw new SyncMessageError(`unknown message type ${type}, expected 1 (events), 2 (request), 3 (response) or 4 (nack)`);
  }
  if (c.left() !== 0) throw new SyncMessageError(`${c.left()} trailing bytes after the ${msg.type} message`);
  return msg;
}

// ---- presence (docs/sync-protocol.md 5) -------------------------------------------------------

export interface Presence {
  state: 'online' | 'offline';
  /** Events the node held when it published this (online only). */
  events?: number;
  /** The node's clock when it published this, ms since the epoch (online only). */
  at?: number;
}

export const PRESENCE_MAX_BYTES = 256;

export function encodePresence(p: Presence): Buffer {
  return Buffer.from(JSON.stringify({ v: 1, ...p }), 'utf8');
}

export function decodePresence(buf: Buffer): Presence {
  if (buf.length === 0) return { state: 'offline' }; // a cleared retained status
  if (buf.length > PRESENCE_MAX_BYTES) throw new SyncMessageError(`presence of ${buf.length} bytes, at most ${PRESENCE_MAX_BYTES}`);
  let v: unknown;
  try { v = JSON.parse(buf.toString('utf8')); } catch { throw new SyncMessageError('presence is not JSON'); }
  if (typeof v !== 'object' || v === null || (v as { v?: unknown }).v !== 1) throw new SyncMessageError('presence must be a JSON object with v: 1');
  const o = v as { state?: unknown; events?: unknown; at?: unknown };
  if (o.state !== 'online' && o.state !== 'offline') throw new SyncMessageError(`presence state must be "online" or "offline", got ${JSON.stringify(o.state)}`);
  const out: Presence = { state: o.state };
  if (o.events !== undefined) {
    if (!Number.isSafeInteger(o.events) || (o.events as number) < 0) throw new SyncMessageError('presence events must be a non-negative integer');
    out.events = o.events as number;
  }
  if (o.at !== undefined) {
    if (!Number.isSafeInteger(o.at) || (o.at as number) < 0) throw new SyncMessageError('presence at must be a non-negative integer');
    out.at = o.at as number;
  }
  return out;
}
