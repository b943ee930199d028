// The far node of the `sync` benchmark, in its own process (as it would be on its own Pi):
// a ledger plus a SyncNode that only answers. Driven over the fork IPC channel.
//   argv[2]: {"db", "url", "org", "name"}
import { Ledger } from '../agent/ledger/ledger.ts';
import { SyncNode } from '../agent/sync/sync-node.ts';
import { BENCH_DAPPS, benchDapps } from './fixtures.ts';

const cfg = JSON.parse(process.argv[2]!) as { db: string; url: string; org: string; name: string };
const ledger = Ledger.open({ path: cfg.db, dapps: benchDapps, checkpoint: 'worker', writer: 'worker', writerDapps: BENCH_DAPPS });
const node = new SyncNode({ ledger, url: cfg.url, orgId: cfg.org, nodeName: cfg.name, autoSync: false, reconnectPeriodMs: 200 });
await node.start();
await node.waitConnected();

process.on('message', (m: { id: number; cmd: string }) => {
  void (async () => {
    let result: unknown;
    switch (m.cmd) {
      case 'counters': result = node.status().counters; break;
      case 'state': result = { count: ledger.count(), stateHash: ledger.stateHash() }; break;
      case 'idle': await node.whenIdle(); result = true; break;
      case 'stop': await node.stop(); await ledger.closeAsync(); result = true; break;
      default: result = null;
    }
    process.send!({ id: m.id, result });
    if (m.cmd === 'stop') process.disconnect();
  })();
});
process.send!({ id: 0, result: 'ready' });
