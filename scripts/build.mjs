#!/usr/bin/env node
// Bundles the gdo CLI and agent into one file, dist/gdo.js. Native addons stay external:
// they are loaded from node_modules (development) or /opt/gdo/node_modules (the image).
import { build } from 'esbuild';
import { readFileSync, chmodSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
await build({
  entryPoints: ['agent/cli/main.ts'],
  outfile: 'dist/gdo.js',
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
