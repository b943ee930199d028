// provisioning/install.sh: gdo taken out of a built image onto a Pi that already runs Raspberry Pi OS (here a
// directory standing in for its root, --root, without starting services), with the node's bootstrap.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { lstatSync, mkdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildImage, type BuildImageResult } from '../../image-build/index.ts';
import { makeBaseImage, makeBundle, makeFakeAddons, makeFakeRuntime, SBIN_PATH, sha256, tempDir } from '../image/fixture.ts';

const SCRIPT = fileURLToPath(new URL('../../provisioning/install.sh', import.meta.url));

function install(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync('sh', [SCRIPT, ...args], { encoding: 'utf8', env: { ...process.env, PATH: SBIN_PATH } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const mode = (p: string): number => statSync(p).mode & 0o777;

describe('provisioning/install.sh', () => {
  const t = tempDir('install');
  const pi = join(t.dir, 'pi');
  let built: BuildImageResult;

  before(async () => {
    const base = makeBaseImage(t.dir);
    makeBundle(t.dir);
    makeFakeRuntime(t.dir);
    makeFakeAddons(t.dir);
    writeFileSync(join(t.dir, 'site.json'), JSON.stringify({ name: 'Test Space' }));
    built = await buildImage({ base, out: join(t.dir, 'gdo.img'), site: join(t.dir, 'site.json'), bundle: join(t.dir, 'gdo.js'), runtimeDir: join(t.dir, 'runtime'), addonsDir: join(t.dir, 'addons') });
    mkdirSync(join(pi, 'boot/firmware'), { recursive: true });
    writeFileSync(join(t.dir, 'bootstrap.json'), '{"v":1}\n');
  });
  after(() => t.cleanup());

  it('installs /opt/gdo, the units (enabled), the CLI link, /etc/gdo defaults and the bootstrap (0600)', () => {
    const r = install(['--image', built.out, '--root', pi, '--bootstrap', join(t.dir, 'bootstrap.json'), '--no-start']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /installed gdo node 20\.\d+\.\d+ into/);
    assert.equal(sha256(join(pi, 'opt/gdo/gdo.js')), sha256(join(t.dir, 'gdo.js')));
    assert.equal(sha256(join(pi, 'opt/gdo/bin/node')), sha256(join(t.dir, 'runtime/bin/node')));
    assert.equal(mode(join(pi, 'opt/gdo/bin/node')), 0o755);
    assert.equal(mode(join(pi, 'opt/gdo/bin/gdo')), 0o755);
    assert.equal(mode(join(pi, 'opt/gdo/gdo.js')), 0o644);
    assert.equal(statSync(join(pi, 'opt/gdo/bin/gdo')).uid, 0);
    for (const unit of ['gdo-agent.service', 'gdo-firstboot.service']) {
      assert.equal(readFileSync(join(pi, 'usr/lib/systemd/system', unit), 'utf8'), readFileSync(fileURLToPath(new URL(`../../provisioning/units/${unit}`, import.meta.url)), 'utf8'));
      assert.equal(mode(join(pi, 'usr/lib/systemd/system', unit)), 0o644);
      assert.equal(readlinkSync(join(pi, 'etc/systemd/system/multi-user.target.wants', unit)), `/usr/lib/systemd/system/${unit}`);
    }
    assert.equal(readlinkSync(join(pi, 'usr/local/bin/gdo')), '/opt/gdo/bin/gdo');
    assert.equal(JSON.parse(readFileSync(join(pi, 'etc/gdo/agent.json'), 'utf8')).state_dir, '/var/lib/gdo');
    assert.deepEqual(JSON.parse(readFileSync(join(pi, 'etc/gdo/site.json'), 'utf8')), { name: 'Test Space' });
    assert.equal(mode(join(pi, 'boot/firmware/gdo/bootstrap.json')), 0o600);
    assert.equal(readFileSync(join(pi, 'boot/firmware/gdo/bootstrap.json'), 'utf8'), '{"v":1}\n');
  });

  it('upgrades in place: /opt/gdo replaced whole, the node\'s own config kept, no staging left', () => {
    writeFileSync(join(pi, 'etc/gdo/agent.json'), '{"node":{"name":"front-door"}}\n');
    writeFileSync(join(pi, 'opt/gdo/stale-file'), 'from an older gdo');
    const r = install(['--image', built.out, '--root', pi, '--no-start']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(pi, 'etc/gdo/agent.json'), 'utf8'), '{"node":{"name":"front-door"}}\n');
    assert.throws(() => lstatSync(join(pi, 'opt/gdo/stale-file')), /ENOENT/);
    assert.deepEqual(spawnSync('sh', ['-c', `ls -A "${join(pi, 'opt')}"`], { encoding: 'utf8' }).stdout.trim().split('\n'), ['gdo']);
  });

  it('refuses clearly: no image, a compressed one, a plain Pi OS image, a root without boot/firmware', () => {
    const cases: [string[], RegExp][] = [
      [['--root', pi], /missing --image FILE/],
      [['--image', join(t.dir, 'none.img'), '--root', pi], /image .*none\.img does not exist/],
      [['--image', `${built.out}.xz`, '--root', pi], /does not exist|is compressed/],
      [['--image', join(t.dir, 'base.img'), '--root', pi], /has no \/opt\/gdo: not a gdo image \(build one with gdo image build\)/],
      [['--image', join(t.dir, 'site.json'), '--root', pi], /no MBR partition table: not a gdo image/],
      [['--image', built.out, '--root', join(t.dir, 'nowhere')], /--root .* is not a directory/],
      [['--image', built.out, '--root', t.dir, '--bootstrap', join(t.dir, 'bootstrap.json')], /boot\/firmware does not exist: not Raspberry Pi OS Bookworm or later/],
      [['--image', built.out, '--bogus'], /unknown option --bogus/],
    ];
    for (const [args, pattern] of cases) {
      const r = install(args);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, pattern);
      assert.match(r.stderr, /^install\.sh: /);
    }
    writeFileSync(join(t.dir, 'x.img.xz'), '');
    assert.match(install(['--image', join(t.dir, 'x.img.xz'), '--root', pi]).stderr, /is compressed: run xz -dk/);
  });
});
