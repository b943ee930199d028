// Event generators for benchmarks: real signed events, built without a ledger so that building
// a 200,000-event fixture costs only the signatures.
import { createHash } from 'node:crypto';
import { keyPairFromSeed, Signer } from '../agent/ledger/crypto.ts';
import type { Dapp } from '../agent/ledger/dapp.ts';
import { ZERO_ID } from '../agent/ledger/event.ts';
import { ChainBuilder } from '../agent/ledger/chain-builder.ts';
import type { Json } from '../agent/ledger/canonical-json.ts';
import { s } from '../agent/ledger/schema.ts';
import { orgDapp } from '../dapps/org/index.ts';

/** A stand-in workload dapp: each event sets one of a few thousand counters. */
export const benchDapp: Dapp = {
  name: 'bench',
  types: {
    mark: {
      schema: s.obj({ k: s.int(0, 1 << 20), v: s.int() }),
      validate() { /* any enrolled key may mark */ },
      apply(_ctx, body: { k: number; v: number }, state) { state.put(`bench/${body.k}`, body.v); },
    },
  },
};
export const benchDapps = [orgDapp, benchDapp];
/** Where a ledger's writer thread loads the bench's dapps from (Ledger.open's writerDapps). */
export const BENCH_DAPPS = { module: new URL('./fixtures.ts', import.meta.url).href, export: 'benchDapps' };

export const signer = (name: string): Signer => new Signer(keyPairFromSeed(createHash('sha256').update(`gdo bench ${name}`).digest()));

export class EventFactory {
  readonly org: Buffer;
  readonly events: Buffer[] = [];
  private readonly chain = new ChainBuilder(1_767_225_600_000);
  head: Buffer;

  constructor(readonly admin: Signer, readonly nodes: Signer[]) {
    const g = this.make(admin, [], 'org', 'genesis', { name: 'Bench Space', admins: [{ key: admin.publicKey.toString('hex'), name: 'admin' }] }, ZERO_ID);
    this.org = g;
    this.head = g;
    for (const [i, n] of nodes.entries()) {
      this.head = this.make(admin, [this.head], 'org', 'node.add', { key: n.publicKey.toString('hex'), name: `node-${i}`, roles: ['door'] });
    }
  }

  make(by: Signer, parents: Buffer[], dapp: string, type: string, body: Json, org = this.org): Buffer {
    const e = this.chain.make(by, parents, dapp, type, body, org);
    this.events.push(e.raw);
    return e.id;
  }

  /** n events by the nodes in turn, each on top of the previous one. */
  linear(n: number, from = this.head, nodes = this.nodes): Buffer {
    let head = from;
    for (let i = 0; i < n; i++) head = this.make(nodes[i % nodes.length]!, [head], 'bench', 'mark', { k: i % 5000, v: i });
    this.head = head;
    return head;
  }
}
