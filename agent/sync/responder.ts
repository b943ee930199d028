// Serving a peer's REQUEST (docs/sync-protocol.md 4.3): answer its RBSR frame with a fresh,
// stateless Reconciler (settling id lists ourselves), look up the ids it fetches, send it
// the events it lacks as EVENTS, then the RESPONSE on the same topic, so it has the events
// before it reads the response. A request of a few bytes can name a whole ledger, so the answer
// is bounded (docs/sync-protocol.md 7): events are read in windows only until the bytes answered
// per request, and the peer's bytes-answered bucket, are spent; then the peer gets what was read,
// in clock order, and a Busy NACK instead of the RESPONSE, and continues at its next session.
import { Reconciler, type ReconcilerOptions } from './rbsr/reconciler.ts';
import type { LedgerItemSource } from './ledger-source.ts';
import type { EventReader } from './event-reader.ts';
import { NackCode, encodeNack, encodeResponse, packEvents, type SyncMessage } from './messages.ts';
import { nextTurn } from './next-turn.ts';
import { sortByClock } from './event-order.ts';
import { decodeVarint } from './rbsr/varint.ts';

type Request = Extract<SyncMessage, { type: 'request' }>;

export interface ResponderDeps {
  source: LedgerItemSource;
  reader: EventReader;
  reconciler: ReconcilerOptions;
  maxFetch: number;
  maxEventsMessageBytes: number;
  /** Event bytes answered per request at most (the answer is cut there). */
  maxAnswerBytes: number;
  /** Takes `bytes` from the peer's answer budget (PeerGuard.takeAnswer); false when spent. */
  takeAnswer(bytes: number): boolean;
  /** Publishes on our direct topic to the peer, in order; false when not connected. */
  send(payload: Buffer): boolean;
  stopped(): boolean;
}

export interface ServeOutcome { events: number; messages: number; cut: boolean }

/** Ids looked up per window before the answer's size is checked again. */
const READ_WINDOW = 256;

/** Throws RbsrError for a bad frame and RangeError for a fetch above the limit; the caller NACKs. */
export async function serveRequest(d: ResponderDeps, msg: Request): Promise<ServeOutcome> {
  if (msg.fetch.length > d.maxFetch) throw new RangeError(`fetch of ${msg.fetch.length} ids, at most ${d.maxFetch} per request`);
  let reply: Buffer | null = null;
  let needIndexes: number[] = [];
  let settled: Buffer[] = [];
  if (msg.frame) {
    d.source.refresh();
    const step = new Reconciler(d.source, d.reconciler).reconcile(msg.frame);
    reply = step.reply ?? null;
    needIndexes = step.needIndexes ?? [];
    settled = step.have;
  }
  const { raws, cut } = await readBounded(d, settled, msg.fetch);
  if (d.stopped()) return { events: 0, messages: 0, cut };
  let messages = 0;
  let events = 0;
  let spent = false;
  for (const payload of packEvents(msg.session, raws, d.maxEventsMessageBytes)) {
    // One payload per turn of the event loop: a catch-up of thousands of events is encoded and
    // handed to the socket between decisions, not in one go.
    if (messages > 0) await nextTurn();
    if (d.stopped()) return { events, messages, cut };
    if (!d.takeAnswer(payload.length)) {
      spent = true;
      break;
    }
    if (!d.send(payload)) return { events, messages, cut };
    events += countOf(payload);
    messages++;
  }
  if (cut || spent) {
    d.send(encodeNack(msg.session, NackCode.Busy, `answer cut after ${events} events (bytes answered per request or per peer spent), reconcile again later`));
    return { events, messages: messages + 1, cut: true };
  }
  d.send(encodeResponse(msg.session, reply, needIndexes));
  return { events, messages: messages + 1, cut: false };
}

/** Reads the settled ids, then the fetched prefixes, in windows, until maxAnswerBytes is reached. */
async function readBounded(d: ResponderDeps, ids: Buffer[], prefixes: Buffer[]): Promise<{ raws: Buffer[]; cut: boolean }> {
  const out: Buffer[] = [];
  let bytes = 0;
  const lists: Array<[Buffer[], 'ids' | 'prefixes']> = [[ids, 'ids'], [prefixes, 'prefixes']];
  for (const [list, kind] of lists) {
    for (let i = 0; i < list.length; i += READ_WINDOW) {
      if (bytes >= d.maxAnswerBytes) return { raws: sortByClock(out), cut: true };
      const got = await d.reader.read({ [kind]: list.slice(i, i + READ_WINDOW) }, d.stopped);
      if (d.stopped()) return { raws: [], cut: false };
      for (const r of got) {
        if (bytes + r.length > d.maxAnswerBytes && out.length > 0) return { raws: sortByClock(out), cut: true };
        out.push(r);
        bytes += r.length;
      }
    }
  }
  return { raws: sortByClock(out), cut: false };
}

/** The event count of an EVENTS payload packEvents made: the varint after the 7-byte header. */
function countOf(payload: Buffer): number {
  return decodeVarint(payload, 7).value;
}
