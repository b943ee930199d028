// gdo image build + gdo provision --image on a fixture with the Raspberry Pi OS layout, checked with the real
// tools (sfdisk, fsck.vfat, e2fsck, mtools, debugfs): the bootstrap lands on the FAT side and nothing else
// changes; then first boot runs on the files taken out of that image and an admin approves the node.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, type BuildImageResult } from '../../image-build/index.ts';
import { allDapps } from '../../agent/dapps.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { approveEnrolment } from '../../agent/enrol/approve.ts';
import { parseBootstrap } from '../../agent/enrol/bootstrap.ts';
import { isEnrolError } from '../../agent/enrol/errors.ts';
import { runFirstboot } from '../../agent/enrol/firstboot.ts';
import { readNodeKeys } from '../../agent/enrol/node-keys.ts';
import { readProvisioned } from '../../agent/enrol/provisioned.ts';
import { parseEnrolmentRequest } from '../../agent/enrol/request.ts';
import { readSiteSecret } from '../../agent/enrol/site-secret.ts';
import { nodeSiteSecret } from '../../agent/enrol/status.ts';
import { tokenMatches } from '../../agent/enrol/token.ts';
import { provisionNode } from '../../provisioning/provision.ts';
import { ext4Stat, makeBaseImage, makeBundle, makeFakeAddons, makeFakeRuntime, sfdiskJson, sh, sha256, tempDir } from '../image/fixture.ts';
import { foundOrg, gdoCli, type Org } from '../enrol/helpers.ts';

const BOOT = 8 << 20; // fixture p1 at 8 MiB, 36 MiB
const ROOT = 44 << 20; // p2 at 44 MiB

/** Bytes [offset, offset+length) of a file. */
function region(path: string, offset: number, length: number): Buffer {
  return readFileSync(path).subarray(offset, offset + length);
}

function fatOf(image: string, dir: string, name: string): string {
  const out = join(dir, name);
  sh('dd', [`if=${image}`, `of=${out}`, 'bs=1M', 'skip=8', 'count=36', 'status=none']);
  return out;
}

describe('gdo provision --image on a built fixture image', () => {
  const t = tempDir('provision');
  let built: BuildImageResult;
  let org: Org;
  let image = '';
  let beforeTable = '';
  let builtHash = '';

  before(async () => {
    const base = makeBaseImage(t.dir);
    makeBundle(t.dir);
    makeFakeRuntime(t.dir);
    makeFakeAddons(t.dir);
    built = await buildImage({ base, out: join(t.dir, 'gdo.img'), bundle: join(t.dir, 'gdo.js'), runtimeDir: join(t.dir, 'runtime'), addonsDir: join(t.dir, 'addons') });
    mkdirSync(join(t.dir, 'admin'));
    org = foundOrg(join(t.dir, 'admin'));
    org.ledger.close();
    // Provision through the CLI, as an installer would (the ledger is reopened by it).
    image = join(t.dir, 'front-door.img');
    sh('cp', ['--sparse=always', built.out, image]);
    beforeTable = JSON.stringify(sfdiskJson(image));
    builtHash = sha256(built.out); // the built image itself is never touched by provisioning a copy
    writeFileSync(join(t.dir, 'pass'), 'broker password\n');
    writeFileSync(join(t.dir, 'psk'), 'a wifi passphrase\n');
    const r = gdoCli(['provision', '--image', image, '--node', 'front-door', '--role', 'door',
      '--broker', 'mqtts://hub.local:8883', '--broker-pass-file', join(t.dir, 'pass'), '--wifi-ssid', 'Space', '--wifi-psk-file', join(t.dir, 'psk'),
      '--wifi-country', 'DE', '--data', join(t.dir, 'admin'), '--json']);
    assert.equal(r.code, 0, r.stderr);
    // The CLI wrote to the admin's data directory with its own connection: reopen ours.
    org = { ...org, ledger: Ledger.open({ path: join(t.dir, 'admin/ledger.db'), dapps: allDapps, synchronous: 'OFF' }) };
  });
  after(() => { org.ledger.close(); t.cleanup(); });

  it('changes only the boot partition: same partition table, same rootfs bytes, both filesystems clean', () => {
    assert.equal(JSON.stringify(sfdiskJson(image)), beforeTable);
    assert.equal(sha256(built.out), builtHash);
    assert.ok(region(image, ROOT, built.rootPartitionBytes).equals(region(built.out, ROOT, built.rootPartitionBytes)), 'rootfs untouched');
    assert.ok(region(image, 0, BOOT).equals(region(built.out, 0, BOOT)), 'MBR and gap untouched');
    sh('e2fsck', ['-fn', `${image}?offset=${ROOT}`]);
    sh('fsck.vfat', ['-n', fatOf(image, t.dir, 'boot.fat')]);
  });

  it('puts the bootstrap in gdo/ on the FAT side, matching the admin\'s token record, with no private key', () => {
    const fat = fatOf(image, t.dir, 'boot2.fat');
    const listing = sh('mdir', ['-b', '-i', fat, '::/gdo']).split('\n').filter((l) => l !== '').sort();
    assert.deepEqual(listing, ['::/gdo/README.txt', '::/gdo/bootstrap.json']);
    const text = sh('mtype', ['-i', fat, '::/gdo/bootstrap.json']);
    const boot = parseBootstrap(Buffer.from(text), 'bootstrap.json');
    assert.equal(boot.org, org.org);
    assert.deepEqual(boot.node, { name: 'front-door', roles: ['door'], hostname: 'front-door' });
    assert.deepEqual(boot.broker, { url: 'mqtts://hub.local:8883', username: 'front-door', password: 'broker password' });
    assert.deepEqual(boot.wifi, { ssid: 'Space', psk: 'a wifi passphrase', country: 'DE' });
    assert.equal(Buffer.from(boot.genesis, 'hex').equals(org.genesis), true);
    assert.doesNotMatch(text, /privateKey|seed/);
    const rec = readProvisioned(join(t.dir, 'admin'), 'front-door')!;
    assert.ok(tokenMatches(boot.token, rec.tokenSha256));
    assert.equal(rec.via, 'image');
    assert.doesNotMatch(readFileSync(join(t.dir, 'admin/provisioned/front-door.json'), 'utf8'), new RegExp(boot.token));
    // The rootfs still has what the node needs to act on it: units enabled, the CLI, the default config.
    for (const unit of ['gdo-agent.service', 'gdo-firstboot.service']) {
      assert.equal(ext4Stat(image, ROOT, `/etc/systemd/system/multi-user.target.wants/${unit}`)?.linkTarget, `/usr/lib/systemd/system/${unit}`);
    }
    const gdo = ext4Stat(image, ROOT, '/opt/gdo/bin/gdo');
    assert.deepEqual([gdo?.mode, gdo?.uid, gdo?.gid], [0o755, 0, 0]);
  });

  it('runs first boot on the files of that image and gets approved; the sealed secret opens on the node', () => {
    const node = join(t.dir, 'node');
    mkdirSync(join(node, 'boot/firmware'), { recursive: true });
    sh('mcopy', ['-s', '-n', '-i', fatOf(image, t.dir, 'boot3.fat'), '::/gdo', '::/cmdline.txt', join(node, 'boot/firmware')]);
    mkdirSync(join(node, 'etc'));
    sh('debugfs', ['-R', `rdump /etc/gdo ${join(node, 'etc')}`, `${image}?offset=${ROOT}`]);
    writeFileSync(join(node, 'etc/hosts'), sh('debugfs', ['-R', 'cat /etc/hostname', `${image}?offset=${ROOT}`]).replace(/^(.*)\n$/, '127.0.1.1\t$1\n'));
    const r = runFirstboot({
      bootstrap: join(node, 'boot/firmware/gdo/bootstrap.json'), stateDir: join(node, 'var/lib/gdo'), config: join(node, 'etc/gdo/agent.json'), root: node,
    });
    assert.deepEqual(readdirSync(join(node, 'boot/firmware/gdo')).sort(), ['README.txt', 'enrol-request.json']);
    assert.match(readFileSync(join(node, 'boot/firmware/cmdline.txt'), 'utf8'), / cfg80211\.ieee80211_regdom=DE\n$/);
    const cfg = JSON.parse(readFileSync(join(node, 'etc/gdo/agent.json'), 'utf8')) as { node: unknown; bootstrap_file: string };
    assert.deepEqual(cfg.node, { name: 'front-door', roles: ['door'] });
    const req = parseEnrolmentRequest(readFileSync(join(node, 'boot/firmware/gdo/enrol-request.json')));
    assert.equal(req.key, r.key);
    const a = approveEnrolment({ ledger: org.ledger, dataDir: join(t.dir, 'admin'), name: 'front-door', request: req, signer: org.admin });
    const keys = readNodeKeys(join(node, 'var/lib/gdo'))!;
    assert.deepEqual(nodeSiteSecret(org.ledger, a.key, keys.kx.privateKey), readSiteSecret(join(t.dir, 'admin')));
  });

  it('will not overwrite another node\'s bootstrap without --force; with it, the old token is void', async () => {
    await assert.rejects(provisionNode({ ledger: org.ledger, dataDir: join(t.dir, 'admin'), name: 'back-door', roles: ['door'], image }), (err: unknown) => {
      assert.ok(isEnrolError(err, 'ENROL_PROVISION'));
      assert.match(err.message, /already holds the bootstrap of node 'front-door'; pass --force to replace it/);
      return true;
    });
    assert.equal(readProvisioned(join(t.dir, 'admin'), 'back-door'), undefined, 'nothing recorded for a refused provisioning');
    const r = await provisionNode({ ledger: org.ledger, dataDir: join(t.dir, 'admin'), name: 'back-door', roles: ['door', 'hub'], image, force: true });
    const boot = parseBootstrap(Buffer.from(sh('mtype', ['-i', fatOf(image, t.dir, 'boot4.fat'), '::/gdo/bootstrap.json'])), 'b');
    assert.deepEqual(boot.node.roles, ['door', 'hub']);
    assert.equal(r.tokenSha256, readProvisioned(join(t.dir, 'admin'), 'back-door')?.tokenSha256);
    sh('fsck.vfat', ['-n', fatOf(image, t.dir, 'boot5.fat')]);
    assert.deepEqual(sh('mdir', ['-b', '-i', fatOf(image, t.dir, 'boot6.fat'), '::/gdo']).split('\n').filter((l) => l !== '').sort(), ['::/gdo/README.txt', '::/gdo/bootstrap.json']);
  });

  it('refuses what is not a gdo image, and rolls the record back when the boot partition is full', async () => {
    const admin = join(t.dir, 'admin');
    const expect = async (img: string, pattern: RegExp): Promise<void> => {
      await assert.rejects(provisionNode({ ledger: org.ledger, dataDir: admin, name: 'gate', roles: ['door'], image: img }), (err: unknown) => {
        assert.ok(isEnrolError(err, 'ENROL_PROVISION'), String(err));
        assert.match(err.message, pattern);
        return true;
      });
    };
    await expect(join(t.dir, 'nope.img'), /base image .*nope\.img does not exist/);
    const plain = join(t.dir, 'plain');
    mkdirSync(plain);
    await expect(makeBaseImage(plain), /is a Raspberry Pi OS image but not a gdo image \(no gdo\/README\.txt on its boot partition\)/);
    const text = join(t.dir, 'text.img');
    writeFileSync(text, 'hello');
    await expect(text, /needs at least a 512-byte MBR.*gdo image build/);

    // A boot partition with no free cluster left: the write fails after the record was made.
    const full = join(t.dir, 'full.img');
    sh('cp', ['--sparse=always', built.out, full]);
    const free = Number((/([\d ]+) bytes free/.exec(sh('mdir', ['-i', `${full}@@${BOOT}`, '::/']))?.[1] ?? '0').replace(/ /g, ''));
    const filler = join(t.dir, 'filler');
    sh('truncate', ['-s', String(free), filler]);
    sh('mcopy', ['-i', `${full}@@${BOOT}`, filler, '::/filler.bin']);
    const previous = readProvisioned(admin, 'front-door');
    await assert.rejects(provisionNode({ ledger: org.ledger, dataDir: admin, name: 'front-door', roles: ['door'], image: full }), (err: unknown) => {
      assert.ok(isEnrolError(err, 'ENROL_PROVISION'), String(err));
      assert.match(err.message, /the boot partition of .*full\.img is full: no room for the bootstrap/);
      return true;
    });
    assert.deepEqual(readProvisioned(admin, 'front-door'), previous, 'the earlier record is back');
    await assert.rejects(provisionNode({ ledger: org.ledger, dataDir: admin, name: 'gate', roles: ['door'], image: full }), /is full/);
    assert.equal(readProvisioned(admin, 'gate'), undefined, 'no record left for a failed first provisioning');
  });
});

