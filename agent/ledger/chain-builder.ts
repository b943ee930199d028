// Signed events built without a ledger: each author's events chained (seq, prev), clocks strictly
// increasing. For fixtures that need many events fast (benchmarks, sync tests); the agent builds
// its own events with Ledger.build, which reads the chain from the store.
import type { Json } from './canonical-json.ts';
import type { Signer } from './crypto.ts';
import { encodeUnsigned, eventId, FORMAT_VERSION, signingBytes, ZERO_ID } from './event.ts';

export interface BuiltEvent { id: Buffer; raw: Buffer }

export class ChainBuilder {
  private readonly chains = new Map<string, { seq: number; last: Buffer }>();

  constructor(public ms: number) {}

  make(by: Signer, parents: Buffer[], dapp: string, type: string, body: Json, org: Buffer): BuiltEvent {
    const k = by.publicKey.toString('hex');
    const c = this.chains.get(k) ?? { seq: 0, last: ZERO_ID };
    this.ms += 1;
    const unsigned = encodeUnsigned({
      v: FORMAT_VERSION, org, author: by.publicKey, seq: c.seq + 1, prev: c.last,
      parents: parents.slice().sort(Buffer.compare), hlc: { ms: this.ms, c: 0 }, dapp, type, body,
    });
    const id = eventId(unsigned);
    this.chains.set(k, { seq: c.seq + 1, last: id });
    return { id, raw: Buffer.concat([unsigned, by.sign(signingBytes(unsigned))]) };
  }
}
