// Runs one event against a state view: the framework's checks (the author's key is live, the
// author has not equivocated), then the dapp's validate and apply. Nothing is written unless
// every step passes; a dapp's exception rejects that event only (docs/design-notes.md habit 5).
import type { DappRegistry, EventContext, KeyRecord } from './dapp.ts';
import { isLedgerError, type RejectionCode } from './errors.ts';
import { hex, type SignedEvent } from './event.ts';
import { check } from './schema.ts';
import { EventTx, type KV } from './state.ts';

export const keyStateKey = (authorHex: string): string => `org/key/${authorHex}`;

export type RunResult =
  | { ok: true; tx: EventTx }
  | { ok: false; code: RejectionCode; message: string };

export interface RunOptions {
  /** Lowest sequence number at which each author (hex key) is known to have equivocated. */
  equivocatedFrom: Map<string, number>;
}

export function runEvent(reg: DappRegistry, view: KV, ev: SignedEvent, opts: RunOptions): RunResult {
  const spec = reg.type(ev.dapp, ev.type);
  if (!spec) return { ok: false, code: 'UNKNOWN_TYPE', message: `no dapp declares ${ev.dapp}/${ev.type}` };
  const tx = new EventTx(view);
  const author = hex(ev.author);
  const authorKey = tx.get<KeyRecord>(keyStateKey(author));
  const genesis = ev.dapp === 'org' && ev.type === 'genesis';
  if (!genesis) {
    if (!authorKey) return { ok: false, code: 'NOT_AUTHORIZED', message: `author ${author.slice(0, 12)} is not a key of this organisation` };
    if (authorKey.revoked) {
      return { ok: false, code: 'NOT_AUTHORIZED', message: `author ${author.slice(0, 12)} ('${authorKey.name}') was revoked by event ${authorKey.revoked.slice(0, 12)}` };
    }
  }
  const eqFrom = opts.equivocatedFrom.get(author);
  if (eqFrom !== undefined && ev.seq >= eqFrom) {
    return { ok: false, code: 'EQUIVOCATION', message: `author ${author.slice(0, 12)} signed two events at seq ${eqFrom}` };
  }
  const ctx: EventContext = {
    id: hex(ev.id), author, seq: ev.seq, hlc: ev.hlc, dapp: ev.dapp, type: ev.type, authorKey,
  };
  try {
    check(spec.schema, ev.body);
    spec.validate(ctx, ev.body, tx);
    spec.apply(ctx, ev.body, tx);
  } catch (e) {
    if (isLedgerError(e)) return { ok: false, code: e.code, message: `${ev.dapp}/${ev.type}: ${e.message}` };
    return { ok: false, code: 'DAPP_ERROR', message: `dapp '${ev.dapp}' threw on ${ev.type}: ${(e as Error)?.message ?? String(e)}` };
  }
  return { ok: true, tx };
}
