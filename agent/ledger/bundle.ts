// Bundle files carry events between nodes with no network (docs/ledger-format.md, "Bundles").
// The whole file is checked before anything is applied, and applied in one transaction.
import { createHash } from 'node:crypto';
import { LedgerError } from './errors.ts';
import { MAX_EVENT_BYTES } from './event.ts';
import type { IngestResult, Ledger } from './ledger.ts';

const MAGIC = Buffer.from('GDOBNDL1', 'ascii');
const HEADER = MAGIC.length + 32 + 4;
export const MAX_BUNDLE_EVENTS = 10_000_000;

export function writeBundle(org: Buffer, events: Iterable<Buffer>): Buffer {
  const parts: Buffer[] = [];
  let count = 0;
  for (const e of events) {
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(e.length);
    parts.push(len, e);
    count++;
  }
  const head = Buffer.alloc(HEADER);
  MAGIC.copy(head, 0);
  org.copy(head, MAGIC.length);
  head.writeUInt32BE(count, MAGIC.length + 32);
  const body = Buffer.concat([head, ...parts]);
  return Buffer.concat([body, createHash('sha256').update(body).digest()]);
}

const bad = (msg: string): never => { throw new LedgerError('BAD_BUNDLE', msg); };

export function readBundle(file: Buffer): { org: Buffer; events: Buffer[] } {
  if (file.length < HEADER + 32) bad(`bundle is ${file.length} bytes, shorter than a header and digest (truncated?)`);
  if (!file.subarray(0, MAGIC.length).equals(MAGIC)) bad('not a gdo bundle (bad magic bytes)');
  const body = file.subarray(0, file.length - 32);
  const digest = createHash('sha256').update(body).digest();
  if (!digest.equals(file.subarray(file.length - 32))) bad('bundle digest does not match its contents (truncated or tampered with)');
  const org = Buffer.from(file.subarray(MAGIC.length, MAGIC.length + 32));
  const count = file.readUInt32BE(MAGIC.length + 32);
  if (count > MAX_BUNDLE_EVENTS) bad(`bundle claims ${count} events, limit ${MAX_BUNDLE_EVENTS}`);
  const events: Buffer[] = [];
  let o = HEADER;
  for (let i = 0; i < count; i++) {
    if (o + 4 > body.length) bad(`bundle ends inside event ${i + 1} of ${count}`);
    const len = body.readUInt32BE(o);
    o += 4;
    if (len > MAX_EVENT_BYTES) bad(`event ${i + 1} of the bundle is ${len} bytes, limit ${MAX_EVENT_BYTES}`);
    if (o + len > body.length) bad(`bundle ends inside event ${i + 1} of ${count}`);
    events.push(body.subarray(o, o + len));
    o += len;
  }
  if (o !== body.length) bad(`${body.length - o} bytes after the last of ${count} events`);
  return { org, events };
}

export interface ImportReport { accepted: number; duplicate: number; pending: number; results: IngestResult[] }

/** Imports a bundle all or nothing: any rejected event leaves the ledger untouched. */
export async function importBundle(ledger: Ledger, file: Buffer): Promise<ImportReport> {
  const { org, events } = readBundle(file);
  if (ledger.orgId && !org.equals(ledger.orgId)) {
    throw new LedgerError('WRONG_ORG', `bundle is for org ${org.toString('hex').slice(0, 12)}, this ledger is ${ledger.orgId.toString('hex').slice(0, 12)}`);
  }
  const results = await ledger.ingestAsync(events, { atomic: true });
  const given = results.filter(Boolean).length; // filter skips holes in a sparse array; .some would too
  if (given !== events.length) throw new Error(`the ledger gave ${given} results for ${events.length} bundle events`);
  const firstBad = results.findIndex((r) => r.status === 'rejected');
  if (firstBad >= 0) {
    // The event's own code (BAD_SIGNATURE, FROM_FUTURE ...), as a peer would be told; BAD_BUNDLE
    // stays for a file that is not a well-formed bundle (docs/ledger-format.md, "Bundles").
    const r = results[firstBad]!;
    const id = r.id === undefined ? '' : ` (${r.id.slice(0, 12)})`;
    throw new LedgerError(r.code ?? 'BAD_BUNDLE', `event ${firstBad + 1} of ${events.length}${id} rejected: ${r.message ?? r.code ?? 'no reason given'}; nothing was imported`);
  }
  const n = (s: IngestResult['status']): number => results.filter((r) => r.status === s).length;
  return { accepted: n('accepted'), duplicate: n('duplicate'), pending: n('pending'), results };
}
