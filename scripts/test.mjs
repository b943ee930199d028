#!/usr/bin/env node
// Runs the test suites with node:test, TypeScript loaded through tsx.
// Usage: node scripts/test.mjs [dir-or-file ...]   (default: test/)
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

function collect(path, out) {
  const st = statSync(path);
  if (st.isFile()) { if (/\.test\.ts$/.test(path)) out.push(path); return out; }
  for (const name of readdirSync(path).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    collect(join(path, name), out);
  }
  return out;
}

const roots = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('-'));
const files = (roots.length ? roots : ['test']).flatMap((r) => collect(r, []));
if (files.length === 0) { console.error('no test files found'); process.exit(1); }
const res = spawnSync(process.execPath, [
  '--import', 'tsx', '--test', '--test-concurrency=2', '--test-reporter=spec', ...flags, ...files,
], { stdio: 'inherit' });
process.exit(res.status ?? 1);
