// Benchmark `startup` (issue 6): the bundled agent (dist/gdo.js) from process start to "ready for badges"
// with a 1,000,000-event ledger (ready_ms), against a bare `node -e 0` in the same run (node_baseline_ms);
// the bundle's size (bundle_kb) and the agent's resident memory once idle (idle_rss_mb).
// Goals: ready_ms <= 5 x node_baseline_ms, bundle_kb <= 600, idle_rss_mb <= 80.
//
// The ledger is built once into a cache directory (GDO_BENCH_CACHE, default $TMPDIR/gdo-bench-cache) and
// reused; the agent opens it in place (starting writes nothing). The reader is the PN532 simulator behind
// a socat pseudo-terminal pair, so the real serial driver initialises a reader before "ready".
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FORMAT_VERSION } from '../agent/ledger/event.ts';
import { Ledger } from '../agent/ledger/ledger.ts';
import { MIGRATIONS } from '../agent/ledger/schema-sql.ts';
import { Pn532Simulator } from '../drivers/pn532/simulator.ts';
import { SerialPortTransport } from '../drivers/serial/serialport-transport.ts';
import { startPtyPair } from '../test/drivers/pn532/helpers.ts';
import { benchDapps, EventFactory, signer } from './fixtures.ts';
import type { Metric } from './metric.ts';

const ROOT = new URL('..', import.meta.url).pathname;
const BUNDLE = join(ROOT, 'dist', 'gdo.js');
const CHUNK = 50_000;

export async function startupBench(
  events = Number(process.env['GDO_BENCH_STARTUP_EVENTS'] ?? 1_000_000),
  runs = Number(process.env['GDO_BENCH_STARTUP_RUNS'] ?? 7),
): Promise<Metric[]> {
  const build = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs')], { cwd: ROOT, encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`startup bench: npm run build failed: ${build.stderr}`);
  const ledgerFile = await cachedLedger(events);
  const dir = mkdtempSync(join(tmpdir(), 'gdo-bench-startup-'));
  const pair = await startPtyPair();
  const sim = new Pn532Simulator();
  const simSide = new SerialPortTransport({ path: pair.simLink });
  await simSide.open();
  const detach = sim.attach(simSide);
  try {
    const config = join(dir, 'agent.json');
    writeFileSync(config, JSON.stringify({
      node: { name: 'bench' },
      state_dir: dir,
      ledger: { file: ledgerFile },
      readers: [{ id: 'main', path: pair.hostLink }],
      gpio: { backend: 'fake' },
      doors: [{ id: 'front', pins: { strike: { line: 17 }, door_switch: { line: 5 }, rex: { line: 6, active_low: true }, led: { line: 22 } } }],
      http: { listen: '127.0.0.1:0' },
      log: { level: 'info' },
    }));
    const baseline: number[] = [];
    const ready: number[] = [];
    let rssMb = 0;
    for (let i = 0; i < runs; i++) {
      baseline.push(await timeNodeBaseline());
      const r = await timeAgent(config, i === runs - 1);
      ready.push(r.readyMs);
      if (r.rssMb !== undefined) rssMb = r.rssMb;
    }
    const readyMs = median(ready);
    const baseMs = median(baseline);
    return [
      { suite: 'startup', metric: 'ledger_events', value: events, unit: 'events' },
      { suite: 'startup', metric: 'ready_ms', value: Math.round(readyMs), unit: 'ms (median)' },
      { suite: 'startup', metric: 'node_baseline_ms', value: Math.round(baseMs), unit: 'ms (median, node -e 0)' },
      { suite: 'startup', metric: 'ready_ratio', value: Number((readyMs / baseMs).toFixed(2)), unit: 'x (goal <= 5)' },
      { suite: 'startup', metric: 'bundle_kb', value: Math.round(statSync(BUNDLE).size / 1024), unit: 'KiB (goal <= 600)' },
      // Everything the build wrote, so that splitting the bundle into chunks cannot hide bytes.
      { suite: 'startup', metric: 'dist_kb', value: Math.round(jsBytes(join(ROOT, 'dist')) / 1024), unit: 'KiB (all of dist/*.js)' },
      { suite: 'startup', metric: 'idle_rss_mb', value: Number(rssMb.toFixed(1)), unit: 'MB (goal <= 80)' },
    ];
  } finally {
    detach();
    await simSide.close();
    await pair.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

function jsBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) n += jsBytes(join(dir, e.name));
    else if (e.name.endsWith('.js')) n += statSync(join(dir, e.name)).size;
  }
  return n;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Spawn to exit of `node -e 0`: what any Node program pays before its first line runs. */
function timeNodeBaseline(): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    p.once('error', reject);
    p.once('exit', () => resolve(performance.now() - t0));
  });
}

/** Spawn to the "ready for badges" log line; on the last run also the resident memory after 3 s idle. */
function timeAgent(config: string, measureRss: boolean): Promise<{ readyMs: number; rssMb?: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [BUNDLE, 'agent', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let readyMs: number | undefined;
    let rssMb: number | undefined;
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`agent not ready within 60 s: ${err}${out.slice(-2000)}`)); }, 60_000);
    p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    p.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (readyMs !== undefined || !out.includes('"ready for badges"')) return;
      readyMs = performance.now() - t0;
      const stop = (): void => { p.kill('SIGTERM'); };
      if (!measureRss) { stop(); return; }
      setTimeout(() => {
        const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.pid}/status`, 'utf8'));
        rssMb = m ? Number(m[1]) / 1024 : NaN;
        stop();
      }, 3_000);
    });
    p.once('error', reject);
    p.once('exit', (code) => {
      clearTimeout(timer);
      if (readyMs === undefined) reject(new Error(`agent exited (${code}) before ready: ${err}${out.slice(-2000)}`));
      else if (code !== 0) reject(new Error(`agent exited ${code} after SIGTERM: ${err}`));
      else resolve({ readyMs, ...(rssMb !== undefined && { rssMb }) });
    });
  });
}

/** A ledger of `n` signed events (org genesis, node enrolments, bench marks), built once and cached. */
async function cachedLedger(n: number): Promise<string> {
  const dir = process.env['GDO_BENCH_CACHE'] ?? join(tmpdir(), 'gdo-bench-cache');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `startup-v${FORMAT_VERSION}-s${MIGRATIONS.length}-${n}.db`);
  if (existsSync(file)) return file;
  const tmp = `${file}.building-${process.pid}`;
  rmSync(tmp, { force: true });
  process.stderr.write(`startup bench: building a ${n}-event ledger in ${file} (once)\n`);
  const f = new EventFactory(signer('admin'), [signer('n1'), signer('n2'), signer('n3'), signer('n4')]);
  const l = Ledger.open({ path: tmp, dapps: benchDapps, synchronous: 'OFF' });
  try {
    let made = f.events.length;
    for (;;) {
      const batch = f.events.splice(0);
      const res = await l.ingestAsync(batch);
      const bad = res.find((r) => r.status !== 'accepted');
      if (bad) throw new Error(`startup bench fixture: ${bad.status} ${bad.code ?? ''} ${bad.message ?? ''}`);
      if (made >= n) break;
      const k = Math.min(CHUNK, n - made);
      f.linear(k);
      made += k;
    }
    if (l.count() !== n) throw new Error(`startup bench fixture: ${l.count()} events, wanted ${n}`);
  } finally {
    l.close();
  }
  for (const ext of ['-wal', '-shm']) rmSync(`${tmp}${ext}`, { force: true });
  renameSync(tmp, file);
  return file;
}
