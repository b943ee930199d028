#!/usr/bin/env node
// `npm start`: the demo maker space, run from the TypeScript sources through tsx.
import { spawnSync } from 'node:child_process';
const res = spawnSync(process.execPath, ['--import', 'tsx', 'agent/demo/partition-demo.ts', ...process.argv.slice(2)], { stdio: 'inherit' });
process.exit(res.status ?? 1);
