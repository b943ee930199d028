// Bad input: every failure is an ImageError with a stable code and a message naming what was wrong, and
// leaves neither an output nor temp files behind, nor a changed base.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, openSync, readdirSync, writeSync, closeSync, writeFileSync, existsSync, truncateSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, isImageError, type BuildImageOptions, type ImageErrorCode } from '../../image-build/index.ts';
import { makeBaseImage, makeBundle, makeFakeAddons, makeFakeRuntime, sh, sha256, tempDir, type FixtureOptions } from './fixture.ts';

describe('buildImage refuses bad input with typed errors', () => {
  const t = tempDir('errors');
  let good = '';
  let n = 0;
  before(() => {
    good = makeBaseImage(t.dir);
    makeBundle(t.dir);
    makeFakeRuntime(t.dir);
    makeFakeAddons(t.dir);
  });
  after(() => t.cleanup());

  /** A fresh output directory per case, so leftovers are easy to see. */
  function outDir(): string {
    const d = join(t.dir, `out${n++}`);
    mkdirSync(d);
    return d;
  }

  function variant(o: FixtureOptions): string {
    const d = join(t.dir, `fx${n++}`);
    mkdirSync(d);
    return makeBaseImage(d, o);
  }

  async function expectCode(code: ImageErrorCode, message: RegExp, opts: Partial<BuildImageOptions> & { base: string }): Promise<void> {
    const dir = outDir();
    const before = existsSync(opts.base) ? sha256(opts.base) : undefined;
    await assert.rejects(
      buildImage({ out: join(dir, 'out.img'), bundle: join(t.dir, 'gdo.js'), runtimeDir: join(t.dir, 'runtime'), addonsDir: join(t.dir, 'addons'), ...opts }),
      (err: unknown) => {
        assert.ok(isImageError(err), `an ImageError, got ${String(err)}`);
        assert.equal(err.code, code, err.message);
        assert.match(err.message, message);
        return true;
      },
    );
    assert.deepEqual(readdirSync(dir), [], 'no output and no temp files left');
    if (before !== undefined) assert.equal(sha256(opts.base), before, 'base unchanged');
  }

  it('IMAGE_MISSING: the base does not exist', async () => {
    await expectCode('IMAGE_MISSING', /nope\.img does not exist/, { base: join(t.dir, 'nope.img') });
  });

  it('IMAGE_TRUNCATED: the file ends inside p2', async () => {
    const cut = join(t.dir, 'cut.img');
    copyFileSync(good, cut);
    truncateSync(cut, statSync(good).size - (4 << 20));
    await expectCode('IMAGE_TRUNCATED', /cut\.img is \d+ bytes but its partition table ends at byte \d+/, { base: cut });
  });

  it('IMAGE_TRUNCATED: the .xz stream ends early', async () => {
    const d = join(t.dir, `xz${n++}`);
    mkdirSync(d);
    const img = join(d, 'base.img');
    copyFileSync(good, img);
    sh('xz', ['-T1', '-0', img]);
    truncateSync(`${img}.xz`, Math.floor(statSync(`${img}.xz`).size / 2));
    await expectCode('IMAGE_TRUNCATED', /xz stream ends early/, { base: `${img}.xz` });
  });

  it('IMAGE_CORRUPT: the .xz data is damaged', async () => {
    const bad = join(t.dir, 'bad.img.xz');
    writeFileSync(bad, Buffer.from('this is not xz data at all, just text'));
    await expectCode('IMAGE_CORRUPT', /xz cannot decode it/, { base: bad });
  });

  it('IMAGE_LAYOUT: no MBR signature', async () => {
    const blank = join(t.dir, 'blank.img');
    writeFileSync(blank, Buffer.alloc(1 << 20));
    await expectCode('IMAGE_LAYOUT', /no MBR: bytes 510-511 are not 55 aa/, { base: blank });
  });

  it('IMAGE_LAYOUT: GPT instead of MBR', async () => {
    await expectCode('IMAGE_LAYOUT', /GPT-partitioned/, { base: variant({ gpt: true }) });
  });

  it('IMAGE_LAYOUT: a third partition', async () => {
    await expectCode('IMAGE_LAYOUT', /p1 FAT32 .*p2 Linux .*p3 Linux/, { base: variant({ extraPartition: true }) });
  });

  it('IMAGE_LAYOUT: p1 typed Linux', async () => {
    await expectCode('IMAGE_LAYOUT', /p1 Linux.*expected p1 FAT/, { base: variant({ bootPartType: '83' }) });
  });

  it('IMAGE_LAYOUT: wrong labels, named', async () => {
    await expectCode('IMAGE_LAYOUT', /p1 is FAT32 labelled 'BOOT', expected label 'bootfs'/, { base: variant({ bootLabel: 'BOOT' }) });
    await expectCode('IMAGE_LAYOUT', /p2 is ext4 labelled 'writable', expected label 'rootfs'/, { base: variant({ rootLabel: 'writable' }) });
  });

  it('IMAGE_LAYOUT: ext2 root instead of ext4', async () => {
    await expectCode('IMAGE_LAYOUT', /p2 is ext2\/ext3 \(no extents\)/, { base: variant({ rootType: 'ext2' }) });
  });

  it('IMAGE_LAYOUT: a base that already holds /opt/gdo', async () => {
    await expectCode('IMAGE_LAYOUT', /already contains \/opt\/gdo/, { base: variant({ withGdo: true }) });
  });

  it('IMAGE_TOO_SMALL: a file too short for an MBR', async () => {
    const tiny = join(t.dir, 'tiny.img');
    writeFileSync(tiny, Buffer.alloc(100));
    await expectCode('IMAGE_TOO_SMALL', /tiny\.img is 100 bytes/, { base: tiny });
  });

  it('IMAGE_TOO_SMALL: a full bootfs', async () => {
    await expectCode('IMAGE_TOO_SMALL', /bootfs partition is full/, { base: variant({ fillBoot: true }) });
  });

  it('IMAGE_CORRUPT: damaged ext4 group descriptors', async () => {
    const bad = join(t.dir, 'badext.img');
    copyFileSync(good, bad);
    const fd = openSync(bad, 'r+');
    // The fixture's rootfs has 1 KiB blocks: its group descriptor table is block 2 of p2 (at 44 MiB).
    writeSync(fd, Buffer.alloc(64, 0xff), 0, 64, (44 << 20) + 2048);
    closeSync(fd);
    await expectCode('IMAGE_CORRUPT', /rootfs: e2fsck -fn exited with [48]/, { base: bad });
  });

  it('IMAGE_CORRUPT: p1 typed FAT without a FAT boot sector', async () => {
    const bad = join(t.dir, 'badfat.img');
    copyFileSync(good, bad);
    const fd = openSync(bad, 'r+');
    writeSync(fd, Buffer.alloc(512), 0, 512, 8 << 20);
    closeSync(fd);
    await expectCode('IMAGE_CORRUPT', /p1 is typed FAT32 but holds no FAT boot sector/, { base: bad });
  });

  it('IMAGE_NO_SPACE: the output directory is too full', async () => {
    await expectCode('IMAGE_NO_SPACE', /not enough free space in .* need \d+ MiB, have 1 MiB/, { base: good, freeSpace: () => Promise.resolve(1 << 20) });
  });

  it('IMAGE_BUNDLE_MISSING: dist/gdo.js not built', async () => {
    await expectCode('IMAGE_BUNDLE_MISSING', /missing: run `npm run build` first/, { base: good, bundle: join(t.dir, 'dist', 'gdo.js') });
  });

  it('IMAGE_BUNDLE_MISSING: gdo.js without the ledger writer thread beside it', async () => {
    const half = join(t.dir, 'half-built');
    mkdirSync(half, { recursive: true });
    writeFileSync(join(half, 'gdo.js'), '// half a build\n');
    await expectCode('IMAGE_BUNDLE_MISSING', /half-built\/ledger-writer\.js is missing next to the agent bundle/, { base: good, bundle: join(half, 'gdo.js') });
  });

  it('IMAGE_SITE: site.json is not a JSON object', async () => {
    const site = join(t.dir, 'site-bad.json');
    writeFileSync(site, '{ "name": ');
    await expectCode('IMAGE_SITE', /site-bad\.json is not valid JSON/, { base: good, site });
    writeFileSync(site, '[1, 2]');
    await expectCode('IMAGE_SITE', /must hold a JSON object, got an array/, { base: good, site });
  });

  it('IMAGE_OUTPUT: the output is the base itself, or its directory is missing', async () => {
    await expectCode('IMAGE_OUTPUT', /is the base image itself/, { base: good, out: good });
    await expectCode('IMAGE_OUTPUT', /output directory .*missing-dir does not exist/, { base: good, out: join(t.dir, 'missing-dir', 'o.img') });
  });

  it('IMAGE_ADDONS: an injected addons directory without epoll', async () => {
    const ad = join(t.dir, 'addons-partial');
    mkdirSync(join(ad, 'better-sqlite3', 'build', 'Release'), { recursive: true });
    writeFileSync(join(ad, 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), 'x');
    await expectCode('IMAGE_ADDONS', /lacks epoll\/build\/Release\/epoll\.node/, { base: good, addonsDir: ad });
  });
});
