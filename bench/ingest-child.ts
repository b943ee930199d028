// Imports one bundle into an empty store and reports time, peak memory and size on disk.
import { readFileSync } from 'node:fs';
import { importBundle } from '../agent/ledger/bundle.ts';
import { Ledger } from '../agent/ledger/ledger.ts';
import { benchDapps } from './fixtures.ts';
import { dbBytes } from './ledger.ts';

const [bundlePath, dbPath] = process.argv.slice(2) as [string, string];
const file = readFileSync(bundlePath);
const l = Ledger.open({ path: dbPath, dapps: benchDapps, synchronous: 'FULL' });
const t0 = performance.now();
const r = await importBundle(l, file);
const ms = performance.now() - t0;
const count = l.count();
l.close();
process.stdout.write(`${JSON.stringify({ ms, count, accepted: r.accepted, rssMb: process.resourceUsage().maxRSS / 1024, dbBytes: dbBytes(dbPath) })}\n`);
