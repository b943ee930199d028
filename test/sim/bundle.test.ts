// `gdo sim` from the built bundle, where its agents run from code esbuild split into chunks: the real
// scripts/build.mjs output, run as the README types it (`node dist/gdo.js sim --script FILE`), and the same
// bundle laid out as the image installs it (image-build/payload.ts: /opt/gdo/gdo.js, chunks/, node_modules)
// under a temporary root, run from elsewhere. Each site must come up and decide: a grant and a denial from
// the real agents, then every agent stopped cleanly. Each run is bounded (a site that never comes up fails
// the test instead of waiting out the site's own 90 s).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildPayload, GDO_ROOT } from '../../image-build/payload.ts';
import { runtimeModuleFiles } from '../../image-build/node-modules.ts';
import { buildRealBundle } from '../image/fixture.ts';
import { ROOT } from './helpers.ts';

const scratch = mkdtempSync(join(tmpdir(), 'gdo-sim-bundle-'));
const SCRIPT = join(scratch, 'visit.txt');
let bundle: string;

before(() => {
  writeFileSync(SCRIPT, '# from the bundle\nbadge alice door\nbadge stranger door\nquit\n');
  bundle = buildRealBundle(scratch);
});
after(() => rmSync(scratch, { recursive: true, force: true }));

/** `node FILE sim --no-color --script SCRIPT` in `cwd`, killed (with whatever it printed) after `limitMs`. */
function runSim(file: string, cwd: string, limitMs = 60_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [file, 'sim', '--no-color', '--script', SCRIPT], { cwd, env: { ...process.env, CI: 'true' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    p.stderr.on('data', (c: Buffer) => { out += c.toString(); });
    // SIGINT first: the site then stops its agents too.
    const timer = setTimeout(() => { p.kill('SIGINT'); setTimeout(() => p.kill('SIGKILL'), 15_000).unref(); }, limitMs);
    p.on('error', reject);
    p.on('exit', (code) => { clearTimeout(timer); resolve({ code, out }); });
  });
}

function assertVisit(r: { code: number | null; out: string }): void {
  assert.equal(r.code, 0, r.out);
  assert.match(r.out, /ready in [\d.]+ s: every node enrolled, every replica at state [0-9a-f]{8}/, r.out);
  assert.match(r.out, /ALLOW {2}Alice at the front door: allowed {2}\[door front rule \d: group members/);
  assert.match(r.out, /front-door {2}strike energised: door unlocked/);
  assert.match(r.out, /DENY {3}a stranger at the front door: unknown badge/);
  assert.doesNotMatch(r.out, /exited unexpectedly/);
  for (const node of ['hub', 'front-door', 'laser']) assert.match(r.out, new RegExp(`${node} +agent stopped \\(exit 0\\)`));
}

describe('gdo sim from the bundle', () => {
  it('node dist/gdo.js sim --script: the agents start from the bundle\'s entry, grant and deny', { timeout: 120_000 }, async () => {
    assert.ok(existsSync(join(dirname(bundle), 'chunks')), 'the bundle is split into chunks');
    assertVisit(await runSim(bundle, dirname(dirname(bundle))));
  });

  it('the bundle as the image installs it (/opt/gdo), run from another directory', { timeout: 120_000 }, async () => {
    const root = join(scratch, 'root');
    const runtime = join(scratch, 'runtime');
    mkdirSync(join(runtime, 'bin'), { recursive: true });
    symlinkSync(process.execPath, join(runtime, 'bin', 'node'));
    writeFileSync(join(runtime, 'LICENSE'), 'the host\'s Node runtime\n');
    const nodeModules = join(ROOT, 'node_modules');
    const entries = await buildPayload({
      stageDir: join(scratch, 'stage'), bundle, runtimeDir: runtime, runtimeVersion: process.versions.node,
      addonsDir: nodeModules, moduleFiles: await runtimeModuleFiles(nodeModules), unitsDir: join(ROOT, 'provisioning', 'units'),
      agentConfig: { state_dir: '/var/lib/gdo' }, site: undefined,
    });
    for (const e of entries) {
      const at = join(root, e.path);
      if (e.kind === 'dir') mkdirSync(at, { recursive: true });
      else if (e.kind === 'symlink') { mkdirSync(dirname(at), { recursive: true }); symlinkSync(join(root, e.target), at); }
      else { mkdirSync(dirname(at), { recursive: true }); copyFileSync(e.source, at); chmodSync(at, e.mode); }
    }
    // The image carries serialport's arm64 prebuild; this host needs its own.
    const prebuild = `node_modules/@serialport/bindings-cpp/prebuilds/${process.platform}-${process.arch}`;
    if (existsSync(join(ROOT, prebuild))) cpSync(join(ROOT, prebuild), join(root, GDO_ROOT, prebuild), { recursive: true });
    const installed = join(root, GDO_ROOT, 'gdo.js');
    assert.ok(existsSync(join(root, GDO_ROOT, 'chunks')));
    const elsewhere = join(scratch, 'elsewhere');
    mkdirSync(elsewhere);
    assertVisit(await runSim(installed, elsewhere));
  });
});
