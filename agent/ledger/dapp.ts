// The dapp framework ("test-driven consensus"): an event is accepted only when its dapp's
// validator passes on it at the event's causal position. validate and apply are pure and
// synchronous: they see the event and the derived state, no I/O, no wall clock.
import type { Hlc } from './hlc.ts';
import type { Schema } from './schema.ts';

/** Read access to derived state. Values are JSON; keys are dapp-prefixed strings. */
export interface StateReader {
  get<T = unknown>(key: string): T | undefined;
  has(key: string): boolean;
  /** Entries whose key starts with `prefix` and is >= prefix + from, ascending by key. */
  scan<T = unknown>(prefix: string, from?: string): Array<[string, T]>;
}

export interface StateWriter extends StateReader {
  put(key: string, value: unknown): void;
  del(key: string): void;
}

/** What validate and apply know about the event besides its body. */
export interface EventContext {
  id: string;          // hex event id
  author: string;      // hex public key
  seq: number;
  hlc: Hlc;
  dapp: string;
  type: string;
  /** The org dapp's record of the author's key (role etc.), as of this point of the fold. */
  authorKey: KeyRecord | undefined;
}

export interface KeyRecord {
  kind: 'admin' | 'node';
  name: string;
  roles: string[];
  added: string;       // event id that added the key
  revoked?: string;    // event id that revoked it
}

export interface EventType<B = any> {
  schema: Schema;
  /**
   * Power events (revocations, role changes) are ordered before ordinary events that are
   * concurrent with them (docs/design-notes.md lesson 2), so that a revocation cannot lose a race.
   */
  power?: boolean;
  /** Throws a LedgerError (INVALID_BODY, NOT_AUTHORIZED, ...) when the event may not apply. */
  validate(ctx: EventContext, body: B, state: StateReader): void;
  apply(ctx: EventContext, body: B, state: StateWriter): void;
}

export interface Dapp {
  name: string;
  /** State keys this dapp writes all start with `${name}/`. */
  types: Record<string, EventType>;
}

export class DappRegistry {
  private readonly dapps = new Map<string, Dapp>();
  constructor(list: Dapp[]) { for (const d of list) this.add(d); }
  add(d: Dapp): void {
    if (this.dapps.has(d.name)) throw new Error(`dapp '${d.name}' registered twice`);
    this.dapps.set(d.name, d);
  }
  type(dapp: string, type: string): EventType | undefined {
    return this.dapps.get(dapp)?.types[type];
  }
  isPower(dapp: string, type: string): boolean {
    return this.type(dapp, type)?.power === true;
  }
  names(): string[] { return [...this.dapps.keys()]; }
}
