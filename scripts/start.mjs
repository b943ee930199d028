#!/usr/bin/env node
// `npm start`: the simulated maker space (`gdo sim`, agent/sim/) from the TypeScript sources, in this
// process through tsx, so the terminal, Ctrl-C and the exit code are the site's own.
// `npm start -- --keep` (or any other `gdo sim` option) passes options through.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../agent/cli/main.ts');
try {
  process.exitCode = await main(['sim', ...process.argv.slice(2)]);
} catch (err) {
  process.stderr.write(`gdo: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = err?.constructor?.name === 'UsageError' ? 2 : 1;
}
