// Serving a peer's REQUEST (docs/sync-protocol.md 4.3): answer its RBSR frame with a fresh,
// stateless Reconciler (settling id lists ourselves), look up the ids it fetches, send it
// the events it lacks as EVENTS, then the RESPONSE on the same topic, so it has the events
// before it reads the response.
import { Reconciler, type ReconcilerOptions } from './rbsr/reconciler.ts';
import type { LedgerItemSource } from './ledger-source.ts';
import type { EventReader } from './event-reader.ts';
import { encodeResponse, packEvents, type SyncMessage } from './messages.ts';
import { nextTurn } from './next-turn.ts';

type Request = Extract<SyncMessage, { type: 'request' }>;

export interface ResponderDeps {
  source: LedgerItemSource;
  reader: EventReader;
  reconciler: ReconcilerOptions;
  maxFetch: number;
  maxEventsMessageBytes: number;
  /** Publishes on our direct topic to the peer, in order; false when not connected. */
  send(payload: Buffer): boolean;
  stopped(): boolean;
}

export interface ServeOutcome { events: number; messages: number }

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
  const raws = await d.reader.read({ ids: settled, prefixes: msg.fetch }, d.stopped);
  if (d.stopped()) return { events: 0, messages: 0 };
  let messages = 0;
  for (const payload of packEvents(msg.session, raws, d.maxEventsMessageBytes)) {
    // One payload per turn of the event loop: a catch-up of thousands of events is encoded and
    // handed to the socket between decisions, not in one go.
    if (messages > 0) await nextTurn();
    if (d.stopped() || !d.send(payload)) return { events: 0, messages };
    messages++;
  }
  d.send(encodeResponse(msg.session, reply, needIndexes));
  return { events: raws.length, messages: messages + 1 };
}
