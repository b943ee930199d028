// `npm run bench -- SUITE [SUITE...] [--json]`: one JSON object a line with --json, else a table.
import type { Metric } from './metric.ts';
import { ingestBench, mergeBench } from './ledger.ts';
import { decideBench } from './decide.ts';
import { decideE2eBench } from './decide-e2e.ts';
import { ledgerDecider } from './ledger-decider.ts';
import { benchImage } from '../image-build/bench.ts';
import { startupBench } from './startup.ts';

const suites: Record<string, () => Promise<Metric[]>> = {
  ingest: () => ingestBench(),
  merge: () => mergeBench(),
  decide: () => decideBench(),
  'decide-e2e': () => decideE2eBench({ fixture: ledgerDecider() }),
  image: () => benchImage(),
  startup: () => startupBench(),
  sync: async () => (await import('./sync.ts')).syncBench(),
  desk: async () => (await import('./desk.ts')).deskBench(),
};

const args = process.argv.slice(2);
const json = args.includes('--json');
const names = args.filter((a) => !a.startsWith('--'));
const chosen = names.length ? names : ['ingest', 'merge'];
for (const n of chosen) {
  if (!suites[n]) { console.error(`unknown suite '${n}' (have: ${Object.keys(suites).join(', ')})`); process.exit(2); }
}
for (const n of chosen) {
  const metrics = await suites[n]!();
  for (const m of metrics) {
    if (json) process.stdout.write(`${JSON.stringify(m)}\n`);
    else process.stdout.write(`${m.suite.padEnd(10)} ${m.metric.padEnd(24)} ${String(m.value).padStart(12)} ${m.unit}\n`);
  }
}
