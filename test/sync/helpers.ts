// Shared fixtures for the sync tests: both brokers behind one interface (the contract suite
// runs against each), an organisation whose events are built without a ledger (fast, so a
// 10,000-event gap costs only the signatures), ledgers and sync nodes with short timers.
import { mkdtempSync, rmSync } from 'node:fs';
import type mqtt from 'mqtt';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Signer } from '../../agent/ledger/crypto.ts';
import { ZERO_ID } from '../../agent/ledger/event.ts';
import { ChainBuilder, type BuiltEvent as Built } from '../../agent/ledger/chain-builder.ts';
import type { Json } from '../../agent/ledger/canonical-json.ts';
import { Ledger, type LedgerOptions } from '../../agent/ledger/ledger.ts';
import { SyncNode } from '../../agent/sync/sync-node.ts';
import type { SyncNodeOptions, SyncTls } from '../../agent/sync/options.ts';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../agent/sync/embedded-broker.ts';
import type { BrokerAccess } from '../../agent/sync/broker-auth.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { signerFor, testDapps } from '../ledger/helpers.ts';
import { issueServerCert } from '../../agent/enrol/site-ca.ts';
import { newCa } from '../tls/helpers.ts';

export type BrokerKind = 'mosquitto' | 'aedes';
export const BROKER_KINDS: BrokerKind[] = ['mosquitto', 'aedes'];

export interface TestBroker {
  kind: BrokerKind;
  url: string;
  /** What a client verifies the broker with: the embedded broker runs with TLS, as on a hub (Mosquitto on
   *  loopback without it; test/tls runs the real one with TLS). Undefined for plain TCP. */
  tls?: SyncTls;
  port: number;
  /** Stops and starts the broker on the same port with nothing retained (persistence off). */
  restart(): Promise<void>;
  /** An outage: down() stops the broker, up() starts it empty on the same port. */
  down(): Promise<void>;
  up(): Promise<void>;
  stop(): Promise<void>;
}

export interface BrokerSecurity {
  /** Mosquitto: files; aedes: the same model in memory. */
  passwordFile?: string;
  aclFile?: string;
  access?: BrokerAccess;
}

let siteCa: ReturnType<typeof newCa> | undefined;
/** The TLS of each test broker by URL, so syncNode() and brokerTls() find what a client of it verifies. */
const tlsByUrl = new Map<string, { ca: string; rejectUnauthorized: true }>();

/** mqtt.js options for a raw client of a test broker: its CA when it runs with TLS. */
export function brokerTls(url: string): { ca?: string; rejectUnauthorized?: true } {
  return tlsByUrl.get(url) ?? {};
}

export async function startBroker(kind: BrokerKind, sec: BrokerSecurity = {}): Promise<TestBroker> {
  if (kind === 'mosquitto') {
    const m = await startMosquitto({
      ...(sec.passwordFile ? { passwordFile: sec.passwordFile } : {}),
      ...(sec.aclFile ? { aclFile: sec.aclFile } : {}),
      persistence: false,
    });
    return { kind, url: m.url, port: m.port, restart: () => m.restart(), down: () => m.down(), up: () => m.up(), stop: () => m.stop() };
  }
  const ca = siteCa ??= newCa();
  const leaf = issueServerCert(ca, { commonName: '127.0.0.1', dnsNames: [], ipAddresses: ['127.0.0.1'] });
  const opts = { ...(sec.access ? { authenticate: sec.access } : {}), tls: { cert: leaf.certPem, key: leaf.keyPem } };
  let b: EmbeddedBroker | null = await startEmbeddedBroker({ port: 0, ...opts });
  const port = b.port;
  const url = b.url;
  const tls = { ca: ca.certPem, rejectUnauthorized: true as const };
  tlsByUrl.set(url, tls);
  const down = async (): Promise<void> => {
    await b?.stop();
    b = null;
  };
  const up = async (): Promise<void> => {
    b ??= await startEmbeddedBroker({ port, ...opts });
  };
  return {
    kind, url, port, tls, down, up,
    async restart() { await down(); await up(); },
    stop: down,
  };
}

export type { Built };

/** An org built event by event: genesis by `admin`, then a node.add per name. */
export class OrgFixture {
  readonly admin = signerFor('admin');
  readonly genesis: Buffer[] = [];
  readonly org: Buffer;
  head: Buffer;
  private readonly chain: ChainBuilder;
  /** The clock of the last event made; the next is one ms later. */
  get ms(): number { return this.chain.ms; }
  set ms(v: number) { this.chain.ms = v; }

  constructor(readonly names: string[], startMs = Date.now() - 3_600_000) {
    this.chain = new ChainBuilder(startMs);
    const g = this.make(this.admin, [], 'org', 'genesis', { name: 'Sync Space', admins: [{ key: this.admin.publicKey.toString('hex'), name: 'Ada' }] }, ZERO_ID);
    this.org = g.id;
    this.genesis.push(g.raw);
    this.head = g.id;
    for (const n of names) {
      const e = this.make(this.admin, [this.head], 'org', 'node.add', { key: signerFor(n).publicKey.toString('hex'), name: n, roles: ['door'] });
      this.genesis.push(e.raw);
      this.head = e.id;
    }
  }

  make(by: Signer, parents: Buffer[], dapp: string, type: string, body: Json, org = this.org): Built {
    return this.chain.make(by, parents, dapp, type, body, org);
  }

  /** `n` note.set events by `author`, each on top of the previous, starting on `from`. */
  notes(author: string, n: number, from = this.head, label = author): Built[] {
    const s = signerFor(author);
    const out: Built[] = [];
    let head = from;
    for (let i = 0; i < n; i++) {
      const e = this.make(s, [head], 'note', 'set', { k: `${label}${i % 50}`.slice(0, 20), v: i });
      out.push(e);
      head = e.id;
    }
    return out;
  }
}

export interface TempDir { dir: string; ledger(name: string, extra?: Partial<LedgerOptions>): Ledger; cleanup(): void }

export function tempDir(): TempDir {
  const dir = mkdtempSync(join(tmpdir(), 'gdo-sync-'));
  const opened: Ledger[] = [];
  return {
    dir,
    ledger(name, extra = {}) {
      const l = Ledger.open({ path: join(dir, `${name}.db`), dapps: testDapps, synchronous: 'OFF', ...extra });
      opened.push(l);
      return l;
    },
    cleanup() {
      for (const l of opened) l.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A sync node with the short timers tests want. */
export function syncNode(ledger: Ledger, url: string, org: Buffer, name: string, extra: Partial<SyncNodeOptions> = {}): SyncNode {
  const tls = tlsByUrl.get(url);
  return new SyncNode({
    ledger, url, orgId: org, nodeName: name, ...(tls && { tls }),
    reconnectPeriodMs: 200, liveSyncDelayMs: 300, requestTimeoutMs: 5000, syncIntervalMs: 60_000,
    ...extra,
  });
}

/** Polls until `cond` holds; fails naming `what` after `timeoutMs` (a deadline, not a timing goal). */
export async function waitFor(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function ingestAll(l: Ledger, raws: Buffer[]): Promise<void> {
  for (let i = 0; i < raws.length; i += 2000) {
    const res = await l.ingestAsync(raws.slice(i, i + 2000));
    const bad = res.find((r) => r.status !== 'accepted' && r.status !== 'duplicate');
    if (bad) throw new Error(`fixture event not accepted: ${JSON.stringify(bad)}`);
  }
}

/** Polls an async condition until it holds; fails naming `what` after `timeoutMs`. */
export async function waitForAsync(what: string, cond: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits for `marker` on a subscribed client, collecting whatever arrived before it. */
export function collectUntil(c: mqtt.MqttClient, marker: string): Promise<string[]> {
  const got: string[] = [];
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`marker ${marker} never arrived; got ${JSON.stringify(got)}`)), 10_000);
    c.on('message', (topic, payload) => {
      got.push(`${topic} ${payload.toString()}`);
      if (payload.toString() === marker) { clearTimeout(t); resolve(got); }
    });
  });
}

/** Ends a client, also one the broker already dropped (whose graceful end would wait forever). */
export async function closeClient(c: mqtt.MqttClient): Promise<void> {
  await Promise.race([c.endAsync(true), new Promise((r) => setTimeout(r, 2000))]);
}
