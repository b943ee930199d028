// gdo as the image installs it, on this machine: the real bundle (scripts/build.mjs, built in a tree of
// its own so no other test's dist/ is touched), laid out by the image's own payload code
// (image-build/payload.ts: /opt/gdo/gdo.js, ledger-writer.js, chunks/, package.json, node_modules closure,
// units, the /usr/local/bin/gdo link) under a temporary root. Only what cannot run here is swapped: the
// arm64 Node runtime and addons become this host's, so the commands are the ones a node runs.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildPayload, GDO_ROOT } from '../../image-build/payload.ts';
import { runtimeModuleFiles } from '../../image-build/node-modules.ts';
import { buildRealBundle } from '../image/fixture.ts';

const REPO = new URL('../..', import.meta.url).pathname;

export interface Installed {
  /** The temporary root standing in for the node's /. */
  root: string;
  /** <root>/opt/gdo/gdo.js */
  bundle: string;
  /** `gdo ARGS` as /usr/local/bin/gdo runs it: the runtime's node on /opt/gdo/gdo.js. */
  argv(args: string[]): string[];
}

/** Builds the bundle and installs the image payload under `root` (about 10 s, most of it esbuild). */
export async function installGdo(work: string): Promise<Installed> {
  const bundleDir = join(work, 'build');
  mkdirSync(bundleDir, { recursive: true });
  const bundle = buildRealBundle(bundleDir);
  const runtime = join(work, 'runtime');
  mkdirSync(join(runtime, 'bin'), { recursive: true });
  symlinkSync(process.execPath, join(runtime, 'bin', 'node'));
  writeFileSync(join(runtime, 'LICENSE'), 'the host Node.js runtime (tests only)\n');
  const nodeModules = join(REPO, 'node_modules');
  const stage = join(work, 'stage');
  const entries = await buildPayload({
    stageDir: stage, bundle, runtimeDir: runtime, runtimeVersion: process.versions.node,
    // The host's own builds, laid out <package>/<file> as node_modules already is.
    addonsDir: nodeModules,
    moduleFiles: await runtimeModuleFiles(nodeModules),
    unitsDir: join(REPO, 'provisioning', 'units'),
    agentConfig: { state_dir: '/var/lib/gdo', log: { level: 'info' } },
    site: undefined,
  });
  const root = join(work, 'root');
  for (const e of entries) {
    const at = join(root, e.path);
    if (e.kind === 'dir') mkdirSync(at, { recursive: true });
    else if (e.kind === 'symlink') { mkdirSync(dirname(at), { recursive: true }); symlinkSync(join(root, e.target), at); }
    else if (e.path === `${GDO_ROOT}/bin/node`) symlinkSync(process.execPath, at);
    else { mkdirSync(dirname(at), { recursive: true }); copyFileSync(e.source, at); chmodSync(at, e.mode); }
  }
  // The image keeps serialport's linux-arm64 prebuild only; this host needs its own.
  const prebuild = `node_modules/@serialport/bindings-cpp/prebuilds/${process.platform}-${process.arch}`;
  if (existsSync(join(REPO, prebuild))) cpSync(join(REPO, prebuild), join(root, GDO_ROOT, prebuild), { recursive: true });
  const installed = join(root, GDO_ROOT, 'gdo.js');
  return {
    root,
    bundle: installed,
    argv: (args) => [installed, ...args],
  };
}

/** Runs `gdo ARGS` from the installed bundle to completion. */
export function gdoSync(inst: Installed, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, inst.argv(args), {
    cwd: opts.cwd ?? inst.root, encoding: 'utf8', env: { ...process.env, ...opts.env },
    timeout: opts.timeoutMs ?? 60_000, ...(opts.input === undefined ? {} : { input: opts.input }),
  });
}

/** Runs `gdo ARGS` from the installed bundle without blocking the test's event loop. */
export function gdoAsync(inst: Installed, args: string[], opts: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {}): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, inst.argv(args), { cwd: inst.root, env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    p.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    const timer = setTimeout(() => { p.kill('SIGKILL'); reject(new Error(`gdo ${args.join(' ')} did not finish in ${opts.timeoutMs ?? 60_000} ms: ${stderr}`)); }, opts.timeoutMs ?? 60_000);
    p.on('error', (e) => { clearTimeout(timer); reject(e); });
    p.on('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, ms: performance.now() - t0 }); });
    p.stdin.end(opts.input ?? '');
  });
}
