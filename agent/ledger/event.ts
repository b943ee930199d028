// The event record and its binary encoding. Byte layout: docs/ledger-format.md, "Encoding".
import { createHash } from 'node:crypto';
import { canonicalJson, parseCanonical, type Json } from './canonical-json.ts';
import { reject } from './errors.ts';
import { HLC_MAX_MS, type Hlc } from './hlc.ts';

export const FORMAT_VERSION = 1;
/** Prepended to the unsigned encoding for hashing and signing ("Domain separation"). */
export const EVENT_DOMAIN = Buffer.from('gdo:event:v1\0', 'ascii');
export const MAX_EVENT_BYTES = 64 * 1024;
export const MAX_PARENTS = 32;
export const SIG_BYTES = 64;
export const ZERO_ID = Buffer.alloc(32);
const NAME_RE = /^[a-z][a-z0-9-]{0,31}$/;
const TYPE_RE = /^[a-z][a-z0-9.-]{0,63}$/;

export interface UnsignedEvent {
  v: number;
  org: Buffer;       // genesis id; 32 zero bytes in the genesis event itself
  author: Buffer;    // Ed25519 public key
  seq: number;       // 1 for an author's first event
  prev: Buffer;      // the author's event seq-1; zero when seq == 1
  parents: Buffer[]; // heads the author knew, strictly ascending
  hlc: Hlc;
  dapp: string;
  type: string;
  body: Json;
}

export interface SignedEvent extends UnsignedEvent {
  id: Buffer;
  sig: Buffer;
  raw: Buffer;       // unsigned encoding || signature: what is stored and sent
  unsignedLen: number;
}

/**
 * What Ledger.onAppend hands on: enough to route and forward an event without decoding its body
 * (events a writer thread appended reach the opening thread this way). A SignedEvent is one.
 */
export interface AppendedEvent { id: Buffer; raw: Buffer; dapp: string; type: string }

function checkFields(e: UnsignedEvent): void {
  if (e.v !== FORMAT_VERSION) reject('BAD_ENCODING', `format version must be ${FORMAT_VERSION}, got ${e.v}`);
  for (const [name, b] of [['org', e.org], ['author', e.author], ['prev', e.prev]] as const) {
    if (b.length !== 32) reject('BAD_ENCODING', `${name} must be 32 bytes, got ${b.length}`);
  }
  if (!Number.isInteger(e.seq) || e.seq < 1 || e.seq > 0xffffffff) reject('BAD_ENCODING', `seq must be 1..2^32-1, got ${e.seq}`);
  if ((e.seq === 1) !== e.prev.equals(ZERO_ID)) reject('BAD_CHAIN', 'prev must be zero exactly when seq is 1');
  if (e.parents.length > MAX_PARENTS) reject('BAD_ENCODING', `at most ${MAX_PARENTS} parents, got ${e.parents.length}`);
  for (let i = 0; i < e.parents.length; i++) {
    const p = e.parents[i]!;
    if (p.length !== 32 || p.equals(ZERO_ID)) reject('BAD_ENCODING', `parent ${i} must be a non-zero 32-byte id`);
    if (i > 0 && Buffer.compare(e.parents[i - 1]!, p) >= 0) reject('NOT_CANONICAL', 'parents must be strictly ascending');
  }
  if (!Number.isInteger(e.hlc.ms) || e.hlc.ms < 0 || e.hlc.ms > HLC_MAX_MS) reject('BAD_ENCODING', `hlc ms out of range: ${e.hlc.ms}`);
  if (!Number.isInteger(e.hlc.c) || e.hlc.c < 0 || e.hlc.c > 0xffff) reject('BAD_ENCODING', `hlc counter out of range: ${e.hlc.c}`);
  if (!NAME_RE.test(e.dapp)) reject('BAD_ENCODING', `dapp name must match ${NAME_RE.source}, got ${JSON.stringify(e.dapp)}`);
  if (!TYPE_RE.test(e.type)) reject('BAD_ENCODING', `event type must match ${TYPE_RE.source}, got ${JSON.stringify(e.type)}`);
}

/** The unsigned encoding: every field in a fixed order, big-endian, length-prefixed where variable. */
export function encodeUnsigned(e: UnsignedEvent): Buffer {
  checkFields(e);
  const body = Buffer.from(canonicalJson(e.body), 'utf8');
  const dapp = Buffer.from(e.dapp, 'ascii');
  const type = Buffer.from(e.type, 'ascii');
  const len = 1 + 32 + 32 + 4 + 32 + 1 + 32 * e.parents.length + 8 + 1 + dapp.length + 1 + type.length + 4 + body.length;
  if (len + SIG_BYTES > MAX_EVENT_BYTES) reject('TOO_LARGE', `event would be ${len + SIG_BYTES} bytes, limit ${MAX_EVENT_BYTES}`);
  const out = Buffer.allocUnsafe(len);
  let o = out.writeUInt8(e.v, 0);
  o += e.org.copy(out, o);
  o += e.author.copy(out, o);
  o = out.writeUInt32BE(e.seq, o);
  o += e.prev.copy(out, o);
  o = out.writeUInt8(e.parents.length, o);
  for (const p of e.parents) o += p.copy(out, o);
  o = out.writeUIntBE(e.hlc.ms, o, 6);
  o = out.writeUInt16BE(e.hlc.c, o);
  o = out.writeUInt8(dapp.length, o);
  o += dapp.copy(out, o);
  o = out.writeUInt8(type.length, o);
  o += type.copy(out, o);
  o = out.writeUInt32BE(body.length, o);
  body.copy(out, o);
  return out;
}

export function eventId(unsigned: Uint8Array): Buffer {
  return createHash('sha256').update(EVENT_DOMAIN).update(unsigned).digest();
}

/** The bytes the author signs: domain || unsigned encoding. */
export function signingBytes(unsigned: Uint8Array): Buffer {
  return Buffer.concat([EVENT_DOMAIN, unsigned]);
}

class Reader {
  o = 0;
  constructor(readonly b: Buffer) {}
  need(n: number, what: string): void {
    if (this.o + n > this.b.length) reject('BAD_ENCODING', `truncated event: ${what} needs ${n} bytes at offset ${this.o}`);
  }
  u8(what: string): number { this.need(1, what); return this.b.readUInt8(this.o++); }
  u16(what: string): number { this.need(2, what); const v = this.b.readUInt16BE(this.o); this.o += 2; return v; }
  u32(what: string): number { this.need(4, what); const v = this.b.readUInt32BE(this.o); this.o += 4; return v; }
  u48(what: string): number { this.need(6, what); const v = this.b.readUIntBE(this.o, 6); this.o += 6; return v; }
  bytes(n: number, what: string): Buffer { this.need(n, what); const v = this.b.subarray(this.o, this.o + n); this.o += n; return v; }
}

/** Decodes a stored or received event. Checks structure and canonical form; not the signature. */
export function decodeEvent(raw: Buffer): SignedEvent {
  if (raw.length > MAX_EVENT_BYTES) reject('TOO_LARGE', `event is ${raw.length} bytes, limit ${MAX_EVENT_BYTES}`);
  const r = new Reader(raw);
  const v = r.u8('version');
  if (v !== FORMAT_VERSION) reject('BAD_ENCODING', `unknown format version ${v}`);
  const org = r.bytes(32, 'org');
  const author = r.bytes(32, 'author');
  const seq = r.u32('seq');
  const prev = r.bytes(32, 'prev');
  const np = r.u8('parent count');
  if (np > MAX_PARENTS) reject('BAD_ENCODING', `at most ${MAX_PARENTS} parents, got ${np}`);
  const parents: Buffer[] = [];
  for (let i = 0; i < np; i++) parents.push(r.bytes(32, `parent ${i}`));
  const hlc = { ms: r.u48('hlc'), c: r.u16('hlc counter') };
  const dapp = r.bytes(r.u8('dapp length'), 'dapp').toString('latin1');
  const type = r.bytes(r.u8('type length'), 'type').toString('latin1');
  const bodyBytes = r.bytes(r.u32('body length'), 'body');
  const unsignedLen = r.o;
  const sig = r.bytes(SIG_BYTES, 'signature');
  if (r.o !== raw.length) reject('BAD_ENCODING', `${raw.length - r.o} trailing bytes after the signature`);
  const body = parseCanonical(bodyBytes);
  const ev: UnsignedEvent = { v, org, author, seq, prev, parents, hlc, dapp, type, body };
  checkFields(ev);
  const unsigned = raw.subarray(0, unsignedLen);
  return { ...ev, id: eventId(unsigned), sig, raw, unsignedLen };
}

export function unsignedPart(e: SignedEvent): Buffer {
  return e.raw.subarray(0, e.unsignedLen);
}

/** Dependencies: the parents plus the author's previous event. */
export function depsOf(e: UnsignedEvent): Buffer[] {
  if (e.seq === 1 || e.parents.some((p) => p.equals(e.prev))) return e.parents;
  return [...e.parents, e.prev];
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const shortId = (b: Uint8Array): string => hex(b).slice(0, 12);
