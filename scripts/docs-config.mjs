#!/usr/bin/env node
// `npm run docs:config`: rewrites README.md's configuration reference from the agent's config schema.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const res = spawnSync(process.execPath, ['--import', 'tsx', 'agent/cli/main.ts', 'config', 'reference'], { encoding: 'utf8' });
if (res.status !== 0) { process.stderr.write(res.stderr); process.exit(1); }
const start = '<!-- config-reference:start -->\n';
const end = '\n<!-- config-reference:end -->';
const readme = readFileSync('README.md', 'utf8');
const a = readme.indexOf(start);
const b = readme.indexOf(end);
if (a < 0 || b < a) { console.error('README.md has no config-reference markers'); process.exit(1); }
writeFileSync('README.md', readme.slice(0, a + start.length) + res.stdout.trimEnd() + readme.slice(b));
