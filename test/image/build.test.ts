// buildImage on a fixture with the Pi OS layout, checked with the real tools: sfdisk, e2fsck, fsck.vfat,
// debugfs. Stand-in runtime and addons keep this fast; runtime.test.ts covers the real ones.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, type BuildImageResult } from '../../image-build/index.ts';
import type { ProgressEvent } from '../../image-build/progress.ts';
import {
  ext4Cat, ext4Stat, makeBaseImage, makeBundle, makeFakeAddons, makeFakeRuntime, sfdiskJson, sh, sha256, tempDir,
} from './fixture.ts';

describe('buildImage on a Pi OS-layout fixture', () => {
  const t = tempDir('build');
  let base = '';
  let baseHash = '';
  let first: BuildImageResult;
  let second: BuildImageResult;
  const events: ProgressEvent[] = [];
  const common = (): { bundle: string; runtimeDir: string; addonsDir: string } => ({
    bundle: join(t.dir, 'gdo.js'), runtimeDir: join(t.dir, 'runtime'), addonsDir: join(t.dir, 'addons'),
  });

  before(async () => {
    base = makeBaseImage(t.dir);
    baseHash = sha256(base);
    makeBundle(t.dir);
    makeFakeRuntime(t.dir);
    makeFakeAddons(t.dir);
    const site = join(t.dir, 'site.json');
    (await import('node:fs')).writeFileSync(site, JSON.stringify({ name: 'Test Space', broker: 'mqtts://broker.local' }));
    first = await buildImage({ base, out: join(t.dir, 'a.img'), site, ...common(), progress: (e) => events.push(e) });
    second = await buildImage({ base, out: join(t.dir, 'b.img'), site, ...common() });
  });
  after(() => t.cleanup());

  it('never modifies the base image', () => {
    assert.equal(sha256(base), baseHash);
  });

  it('is reproducible: two builds give the same bytes and the checksum file says so', () => {
    assert.equal(first.sha256, second.sha256);
    assert.equal(sha256(first.out), sha256(second.out));
    assert.equal(sha256(first.out), first.sha256);
    assert.equal(readFileSync(first.checksumFile, 'utf8'), `${first.sha256}  a.img\n`);
    // sha256sum can check it, as a user would.
    sh('sh', ['-c', `cd "${t.dir}" && sha256sum -c a.img.sha256`]);
  });

  it('leaves no temp files behind', () => {
    assert.deepEqual(readdirSync(t.dir).filter((f) => f.includes('.tmp-')), []);
  });

  it('keeps the MBR layout and grows p2 to fit gdo', () => {
    const table = sfdiskJson(first.out).partitiontable;
    assert.equal(table.label, 'dos');
    assert.equal(table.id, '0x6c0ffee5');
    assert.equal(table.partitions.length, 2);
    const [p1, p2] = table.partitions;
    assert.equal(p1?.start, 8 * 2048);
    assert.equal(p1?.size, 36 * 2048);
    assert.equal(p1?.type, 'c');
    assert.equal(p2?.start, 44 * 2048);
    assert.equal(p2?.type, '83');
    assert.ok(first.rootGrown);
    assert.equal((p2?.size ?? 0) * 512, first.rootPartitionBytes);
    assert.ok(first.rootPartitionBytes > 24 << 20);
    assert.equal(first.bytes, (p2?.start ?? 0) * 512 + first.rootPartitionBytes);
  });

  it('passes e2fsck -fn on the rootfs and fsck.vfat -n on the bootfs', () => {
    sh('e2fsck', ['-fn', `${first.out}?offset=${44 << 20}`]);
    const boot = join(t.dir, 'boot.check');
    sh('dd', [`if=${first.out}`, `of=${boot}`, 'bs=1M', 'skip=8', 'count=36', 'status=none']);
    sh('fsck.vfat', ['-n', boot]);
    assert.match(sh('mtype', ['-i', boot, '::/gdo/README.txt']), /bootstrap\.json/);
    assert.match(sh('mtype', ['-i', boot, '::/cmdline.txt']), /root=PARTUUID=6c0ffee5-02/);
  });

  it('installs /opt/gdo, /etc/gdo and the units owned by root with sensible modes', () => {
    const off = 44 << 20;
    const expect: [string, string, number][] = [
      ['/opt/gdo', 'directory', 0o755],
      ['/opt/gdo/gdo.js', 'regular', 0o644],
      ['/opt/gdo/bin/node', 'regular', 0o755],
      ['/opt/gdo/bin/gdo', 'regular', 0o755],
      ['/opt/gdo/build.json', 'regular', 0o644],
      ['/opt/gdo/node_modules/better-sqlite3/build/Release/better_sqlite3.node', 'regular', 0o755],
      ['/opt/gdo/node_modules/epoll/build/Release/epoll.node', 'regular', 0o755],
      ['/opt/gdo/node_modules/@serialport/bindings-cpp/prebuilds/linux-arm64/@serialport+bindings-cpp.armv8.glibc.node', 'regular', 0o644],
      ['/opt/gdo/node_modules/pino/package.json', 'regular', 0o644],
      ['/etc/gdo', 'directory', 0o755],
      ['/etc/gdo/agent.json', 'regular', 0o644],
      ['/etc/gdo/site.json', 'regular', 0o644],
      ['/usr/lib/systemd/system/gdo-agent.service', 'regular', 0o644],
      ['/usr/lib/systemd/system/gdo-firstboot.service', 'regular', 0o644],
    ];
    for (const [path, type, mode] of expect) {
      const st = ext4Stat(first.out, off, path);
      assert.ok(st, `${path} exists`);
      assert.equal(st.type, type, path);
      assert.equal(st.mode, mode, `${path} mode ${st.mode.toString(8)}`);
      assert.equal(st.uid, 0, `${path} uid`);
      assert.equal(st.gid, 0, `${path} gid`);
    }
    assert.equal(ext4Stat(first.out, off, '/opt/gdo/gdo.js')?.size, readFileSync(join(t.dir, 'gdo.js')).length);
    assert.equal(ext4Stat(first.out, off, '/opt/gdo/node_modules/@serialport/bindings-cpp/prebuilds/linux-x64'), undefined);
    assert.equal(ext4Stat(first.out, off, '/opt/gdo/node_modules/better-sqlite3/deps'), undefined);
    assert.equal(ext4Stat(first.out, off, '/opt/gdo/node_modules/prebuild-install'), undefined);
    assert.deepEqual(JSON.parse(ext4Cat(first.out, off, '/etc/gdo/site.json')), { name: 'Test Space', broker: 'mqtts://broker.local' });
    // The agent's schema (snake_case keys); with --site the image's config names the site file.
    assert.deepEqual(JSON.parse(ext4Cat(first.out, off, '/etc/gdo/agent.json')), { site_file: '/etc/gdo/site.json', state_dir: '/var/lib/gdo', log: { level: 'info' } });
    assert.match(ext4Cat(first.out, off, '/opt/gdo/bin/gdo'), /exec \/opt\/gdo\/bin\/node \/opt\/gdo\/gdo\.js "\$@"/);
    // The base's own files are still there.
    assert.equal(ext4Cat(first.out, off, '/etc/hostname'), 'raspberrypi\n');
  });

  it('enables both units with symlinks in multi-user.target.wants', () => {
    const off = 44 << 20;
    for (const unit of ['gdo-agent.service', 'gdo-firstboot.service']) {
      const st = ext4Stat(first.out, off, `/etc/systemd/system/multi-user.target.wants/${unit}`);
      assert.equal(st?.type, 'symlink');
      assert.equal(st?.linkTarget, `/usr/lib/systemd/system/${unit}`);
      assert.equal(st?.uid, 0);
    }
    assert.equal(ext4Stat(first.out, off, '/usr/local/bin/gdo')?.linkTarget, '/opt/gdo/bin/gdo');
  });

  it('reports progress through every phase, with byte counts while writing', () => {
    const phases = [...new Set(events.map((e) => e.phase))];
    for (const p of ['check', 'runtime', 'addons', 'extract', 'grow', 'rootfs', 'bootfs', 'verify', 'write', 'publish', 'done'] as const) {
      assert.ok(phases.includes(p), `phase ${p} reported (got ${phases.join(',')})`);
    }
    const last = events.filter((e) => e.phase === 'write').at(-1);
    assert.equal(last?.done, last?.total);
  });

  it('accepts an .img.xz base and gives the same bytes as the .img', async () => {
    sh('xz', ['-k', '-T1', '-0', base]);
    const r = await buildImage({ base: `${base}.xz`, out: join(t.dir, 'c.img'), site: join(t.dir, 'site.json'), ...common() });
    assert.equal(r.sha256, first.sha256);
  });
});
