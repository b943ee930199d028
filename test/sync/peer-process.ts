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
//   staff {signer, op, args}              -> {id}: Staff[op](...args), what the staff CLI does (agent/access)
//   badge {signer, siteSecret, uid, resource}
//                                         -> {allow, reason, id?}: a badge read at a door or machine, as the
//                                            node `signer` does it: AccessService.decide, then AccessLog
//                                            records the decision (id: the access/decision event)
//   anomalies                             -> listAnomalies (dapps/access/anomaly.ts)
//   stop                                  -> stops sync, closes the ledger, exits 0
import { createInterface } from 'node:readline';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Dapp } from '../../agent/ledger/dapp.ts';
import type { Json } from '../../agent/ledger/canonical-json.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { SyncNode } from '../../agent/sync/sync-node.ts';
import type { SyncNodeOptions } from '../../agent/sync/options.ts';
import { AccessLog } from '../../agent/access/access-log.ts';
import { AccessService } from '../../agent/access/decide.ts';
import { Staff } from '../../agent/access/staff.ts';
import { listAnomalies } from '../../dapps/access/anomaly.ts';
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
    case 'staff': {
      const staff = new Staff(ledger, signerFor(a['signer'] as string)) as unknown as Record<string, unknown>;
      const op = a['op'] as string;
      const fn = staff[op];
      if (typeof fn !== 'function' || op === 'constructor' || op.startsWith('_')) throw new Error(`no staff operation ${op}`);
      const ev = (fn as (...x: unknown[]) => { id: Buffer }).apply(staff, a['args'] as unknown[]);
      return { id: ev.id.toString('hex') };
    }
    case 'badge':
      return badge(a['signer'] as string, Buffer.from(a['siteSecret'] as string, 'hex'), Buffer.from(a['uid'] as string, 'hex'), a['resource'] as string);
    case 'anomalies':
      return listAnomalies(ledger);
    case 'stop':
      await node.stop();
      ledger.close();
      return 'stopped';
    default:
      throw new Error(`unknown command ${cmd}`);
  }
}

/** What a door node does with a badge: decide from its replica, then log the decision as its own event. */
function badge(signerName: string, siteSecret: Buffer, uid: Buffer, resource: string): { allow: boolean; reason: string; id?: string } {
  const signer = signerFor(signerName);
  const service = new AccessService({ ledger, nodeKey: signer.publicKey.toString('hex'), siteSecret });
  let logError: string | undefined;
  const log = new AccessLog({ ledger, signer, service, onError: (m) => { logError = m; } });
  const d = service.decide({ credential: uid, resource, at: new Date() });
  log.record(resource.startsWith('door:') ? 'door.access' : 'machine.access', {
    resource, allow: d.allow, reason: d.reason, ...(d.rule !== undefined && { rule: d.rule }), ...(d.memberId !== undefined && { member_id: d.memberId }),
  });
  log.flush();
  if (logError !== undefined || log.stats.committed !== 1) throw new Error(`the decision was not logged: ${logError ?? JSON.stringify(log.stats)}`);
  // Appended on top of every head, the decision is now the only one (nothing else ran meanwhile).
  const heads = ledger.heads();
  return { allow: d.allow, reason: d.reason, ...(heads.length === 1 && { id: heads[0] }) };
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
