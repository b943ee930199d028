// `gdo image build` through the CLI as a separate process: the --json result names the image and its
// checksum, nothing but the result on stdout, and bad input is one clear line with the error code.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gdoCli } from '../enrol/helpers.ts';
import { makeBaseImage, makeBundle, makeFakeAddons, makeFakeRuntime, sha256, tempDir } from './fixture.ts';

const gdo = gdoCli;

describe('gdo image build', () => {
  const t = tempDir('cli');
  let stand: string[] = [];
  before(() => {
    makeBaseImage(t.dir);
    makeBundle(t.dir);
    makeFakeRuntime(t.dir);
    makeFakeAddons(t.dir);
    stand = ['--bundle', join(t.dir, 'gdo.js'), '--runtime-dir', join(t.dir, 'runtime'), '--addons-dir', join(t.dir, 'addons')];
  });
  after(() => t.cleanup());

  it('builds the image and prints the result with its checksum as JSON', () => {
    const r = gdo(['image', 'build', '--base', join(t.dir, 'base.img'), '--out', join(t.dir, 'node.img'), ...stand, '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no progress display when stderr is not a terminal');
    const res = JSON.parse(r.stdout) as { out: string; sha256: string; checksumFile: string; bytes: number; rootGrown: boolean };
    assert.equal(res.out, join(t.dir, 'node.img'));
    assert.equal(res.sha256, sha256(res.out));
    assert.equal(readFileSync(res.checksumFile, 'utf8'), `${res.sha256}  node.img\n`);
    assert.equal(res.rootGrown, true);
  });

  it('says what is wrong, with the stable code, and exits 1 or 2', () => {
    const missing = gdo(['image', 'build', '--base', join(t.dir, 'none.img'), '--out', join(t.dir, 'x.img'), ...stand]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^gdo: IMAGE_MISSING: base image .*none\.img does not exist\n$/);
    const layout = gdo(['image', 'build', '--base', join(t.dir, 'gdo.js'), '--out', join(t.dir, 'x.img'), ...stand]);
    assert.equal(layout.code, 1);
    assert.match(layout.stderr, /^gdo: IMAGE_(LAYOUT|TOO_SMALL): /);
    const usage = gdo(['image', 'build', '--out', join(t.dir, 'x.img')]);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /missing --base/);
    const sub = gdo(['image', 'flash']);
    assert.equal(sub.code, 2);
    assert.match(sub.stderr, /unknown subcommand 'image flash'/);
  });
});
