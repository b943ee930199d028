// A gdo node as its own process, for the multi-process sync tests: a ledger plus a SyncNode,
// driven by JSON lines on stdin, answering with JSON lines on stdout.
//
//   node --import tsx test/sync/peer-process.ts '<config JSON>'
//   config: { db, url, org (hex), name, dapps: ["org", "test:note", "path/to/module.ts#export", ...], sync?: {...} }
//
// Dapps are given by name so other suites can run the same peers with their dapps: "org" is
// the org dapp, "test:note" the ledger tests' note dapp, and "<module>#<export>" any module
// exporting a Dapp or a Dapp[] (a relative module path is resolved from the repository root).
//
// Commands ({"id": n, "cmd": ...}; each answered by {"id": n, "ok": true, "result": ...} or
// {"id": n, "ok": false, "error": "..."}):
//   ingest {raws: hex[]}                  -> ingest results
//   append {signer, dapp, type, body}     -> {status, id, code?} (signer: a test key name)
//   state                                 -> {count, stateHash, heads, pending, softFailed, sync}
//   has {ids: hex[]}                      -> boolean[]
//   get {key}                             -> the state value
//   sync {peer?}                          -> the session outcome
//   stop                                  -> stops sync, closes the ledger, exits 0
import { createInterface } from 'node:readline';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Dapp } from '../../agent/ledger/dapp.ts';
import type { Json } from '../../agent/ledger/canonical-json.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { SyncNode } from '../../agent/sync/sync-node.ts';
import type { SyncNodeOptions } from '../../agent/sync/options.ts';
import { orgDapp } from '../../dapps/org/index.ts';
import { noteDapp, signerFor } from '../ledger/helpers.ts';

interface Config { db: string; url: string; org: string; name: string; dapps: string[]; sync?: Partial<SyncNodeOptions> }

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

async function loadDapps(specs: string[]): Promise<Dapp[]> {
  const out: Dapp[] = [];
  for (const spec of specs) {
    if (spec === 'org') out.push(orgDapp);
    else if (spec === 'test:note') out.push(noteDapp);
    else {
      const [mod, name] = spec.split('#');
      if (!mod || !name) throw new Error(`dapp spec ${JSON.stringify(spec)}: expected org, test:note or <module>#<export>`);
      const url = pathToFileURL(isAbsolute(mod) ? mod : resolve(ROOT, mod)).href;
      const m = (await import(url)) as Record<string, unknown>;
      const d = m[name];
      if (!d) throw new Error(`dapp spec ${spec}: module has no export ${name}`);
      out.push(...(Array.isArray(d) ? (d as Dapp[]) : [d as Dapp]));
    }
  }
  return out;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;
const ledger = Ledger.open({ path: cfg.db, dapps: await loadDapps(cfg.dapps), synchronous: 'OFF' });
const node = new SyncNode({
  ledger, url: cfg.url, orgId: cfg.org, nodeName: cfg.name,
  reconnectPeriodMs: 200, liveSyncDelayMs: 300, requestTimeoutMs: 5000, syncIntervalMs: 2000, presenceIntervalMs: 1000,
  ...(cfg.sync ?? {}),
});
await node.start();

async function run(cmd: string, a: Record<string, unknown>): Promise<unknown> {
  switch (cmd) {
    case 'ingest':
      return ledger.ingestAsync((a['raws'] as string[]).map((h) => Buffer.from(h, 'hex')));
    case 'append': {
      const r = ledger.append(signerFor(a['signer'] as string), a['dapp'] as string, a['type'] as string, a['body'] as Json);
      return { status: r.result.status, id: r.event.id.toString('hex'), code: r.result.code };
    }
    case 'state':
      return {
        count: ledger.count(), stateHash: ledger.stateHash(), heads: ledger.heads(), pending: ledger.pendingCount(),
        softFailed: ledger.softFailed().map((s) => s.id), sync: node.status(),
      };
    case 'has':
      return (a['ids'] as string[]).map((h) => ledger.hasEvent(Buffer.from(h, 'hex')));
    case 'get':
      return ledger.get(a['key'] as string) ?? null;
    case 'sync':
      return node.syncWith(a['peer'] as string | undefined);
    case 'stop':
      await node.stop();
      ledger.close();
      return 'stopped';
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

const rl = createInterface({ input: process.stdin });
let chain = Promise.resolve();
rl.on('line', (line) => {
  chain = chain.then(async () => {
    let id: unknown = null;
    try {
      const msg = JSON.parse(line) as { id: unknown; cmd: string } & Record<string, unknown>;
      id = msg.id;
      const result = await run(msg.cmd, msg);
      process.stdout.write(`${JSON.stringify({ id, ok: true, result })}\n`);
      if (msg.cmd === 'stop') {
        rl.close();
        process.exitCode = 0;
      }
    } catch (e) {
      process.stdout.write(`${JSON.stringify({ id, ok: false, error: (e as Error).message })}\n`);
    }
  });
});
// The parent went away: leave cleanly.
rl.on('close', () => { void chain.then(async () => { await node.stop(); try { ledger.close(); } catch { /* closed */ } }); });
