#!/usr/bin/env node
// Bundles the gdo CLI and agent into dist/gdo.js plus dist/chunks/: code that only some commands
// need (the daemon, MQTT, the embedded broker, the simulated site) sits in chunks loaded when
// used, so `gdo status` or `gdo gpio safe` parse a fraction of it. Native addons stay external:
// they are loaded from node_modules (development) or /opt/gdo/node_modules (the image).
import { build } from 'esbuild';
import { readFileSync, chmodSync, rmSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
rmSync('dist', { recursive: true, force: true }); // no stale chunks
await build({
  // The ledger's writer thread is a module of its own (agent/ledger/writer.ts finds it next to gdo.js).
  // gdo.js notes its own path before the CLI loads (agent/cli/bundle-entry.ts), so `gdo sim` starts its
  // agents on it and not on the chunk that holds agent/sim.
  entryPoints: { gdo: 'agent/cli/bundle-entry.ts', 'ledger-writer': 'agent/ledger/writer-worker.ts' },
  outdir: 'dist',
  splitting: true,
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  minify: true,
  legalComments: 'none',
  sourcemap: false,
  external: ['better-sqlite3', 'serialport', '@serialport/*', 'onoff', 'epoll', 'pino', 'thread-stream', 'pino-*'],
  define: { GDO_VERSION: JSON.stringify(pkg.version) },
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __gdoRequire } from 'node:module'; const require = __gdoRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
chmodSync('dist/gdo.js', 0o755);
