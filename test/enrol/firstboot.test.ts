// First boot on a temp directory laid out like a node (agent/enrol/firstboot.ts): the bootstrap leaves the
// FAT side, keys are made with mode 0600, the ledger starts from the genesis, the request verifies, the node
// stays unenrolled; re-runs change nothing; a power cut after any step is finished by the next run.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { allDapps } from '../../agent/dapps.ts';
import { encodeBootstrap, type Bootstrap } from '../../agent/enrol/bootstrap.ts';
import { FIRSTBOOT_STEPS, runFirstboot, type FirstbootOptions, type FirstbootResult } from '../../agent/enrol/firstboot.ts';
import { readNodeKeys } from '../../agent/enrol/node-keys.ts';
import { parseEnrolmentRequest } from '../../agent/enrol/request.ts';
import { enrolmentState } from '../../agent/enrol/status.ts';
import { hex } from '../../agent/ledger/event.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { bootstrapFor, foundOrg, signerFor, tempDir, type Org, expectError } from './helpers.ts';

const mode = (p: string): number => statSync(p).mode & 0o777;

interface Node { root: string; fat: string; opts: FirstbootOptions }

let n = 0;
/** A node's filesystem in `base`: /boot/firmware (the FAT side) with the bootstrap, /etc as Pi OS has it. */
function makeNode(base: string, boot: Bootstrap | Buffer): Node {
  const root = join(base, `node${n++}`);
  const fat = join(root, 'boot/firmware');
  mkdirSync(join(fat, 'gdo'), { recursive: true });
  mkdirSync(join(root, 'etc/gdo'), { recursive: true });
  writeFileSync(join(fat, 'cmdline.txt'), 'console=serial0,115200 root=PARTUUID=6c0ffee5-02 rootfstype=ext4 rootwait\n');
  writeFileSync(join(fat, 'gdo/bootstrap.json'), Buffer.isBuffer(boot) ? boot : encodeBootstrap(boot));
  writeFileSync(join(root, 'etc/hostname'), 'raspberrypi\n');
  writeFileSync(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n\n127.0.1.1\t\traspberrypi\n');
  writeFileSync(join(root, 'etc/gdo/agent.json'), JSON.stringify({ state_dir: '/var/lib/gdo', log: { level: 'info' }, sync: { embedded_listen: '0.0.0.0:1883' } }));
  return {
    root, fat,
    opts: { bootstrap: join(fat, 'gdo/bootstrap.json'), stateDir: join(root, 'var/lib/gdo'), config: join(root, 'etc/gdo/agent.json'), root },
  };
}

/** What must hold after a completed first boot, whatever happened before. */
function assertFinished(node: Node, org: Org, boot: Bootstrap, r: FirstbootResult): void {
  const state = node.opts.stateDir;
  assert.equal(mode(state), 0o700);
  for (const f of ['bootstrap.json', 'node.key', 'node-kx.key', 'enrol-request.json', 'broker.pass']) assert.equal(mode(join(state, f)), 0o600, f);
  assert.ok(!existsSync(node.opts.bootstrap), 'the FAT copy is gone');
  assert.ok(!existsSync(join(state, 'firstboot.pending')), 'no pending marker');
  assert.deepEqual(readdirSync(state).filter((f) => f.includes('.tmp-')), []);
  assert.deepEqual(JSON.parse(readFileSync(join(state, 'bootstrap.json'), 'utf8')), boot);
  const keys = readNodeKeys(state)!;
  const req = parseEnrolmentRequest(readFileSync(join(state, 'enrol-request.json')));
  assert.deepEqual(req, r.request);
  assert.equal(req.key, keys.sign.publicKey.toString('hex'));
  assert.equal(req.kx, keys.kx.publicKey.toString('hex'));
  assert.equal(req.org, org.org);
  assert.equal(req.token, boot.token);
  assert.deepEqual(req.roles, boot.node.roles);
  assert.deepEqual(parseEnrolmentRequest(readFileSync(join(node.fat, 'gdo/enrol-request.json'))), req, 'a copy for the USB stick');
  const l = Ledger.open({ path: join(state, 'ledger.db'), dapps: allDapps });
  try {
    assert.equal(hex(l.orgId!), org.org);
    assert.equal(l.count(), 1);
    // Inert until approved: the node's key is in no org/node.add.
    assert.deepEqual(enrolmentState(l, req.key), { state: 'not-enrolled' });
  } finally { l.close(); }
  const cfg = JSON.parse(readFileSync(node.opts.config, 'utf8')) as Record<string, unknown>;
  // The agent's schema (agent/daemon/config): snake_case keys, the image's other keys kept.
  assert.deepEqual(cfg, {
    state_dir: state, site_file: join(node.root, 'etc/gdo/site.json'), log: { level: 'info' },
    bootstrap_file: join(state, 'bootstrap.json'), org: org.org, node: { name: boot.node.name, roles: boot.node.roles },
    enrolment: { request_file: join(state, 'enrol-request.json') },
    sync: { broker: boot.broker!.url, username: boot.broker!.username, password_file: join(state, 'broker.pass'), embedded_listen: '0.0.0.0:1883' },
  });
  assert.doesNotMatch(readFileSync(node.opts.config, 'utf8'), /broker secret/, 'no password in the world-readable config');
  assert.equal(mode(node.opts.config), 0o644);
  assert.equal(readFileSync(join(state, 'broker.pass'), 'utf8'), boot.broker!.password);
  assert.deepEqual(JSON.parse(readFileSync(join(node.root, 'etc/gdo/site.json'), 'utf8')), boot.site);
  assert.equal(readFileSync(join(node.root, 'etc/hostname'), 'utf8'), `${boot.node.hostname}\n`);
  assert.equal(mode(join(node.root, 'etc/hostname')), 0o644);
  assert.match(readFileSync(join(node.root, 'etc/hosts'), 'utf8'), new RegExp(`^127\\.0\\.0\\.1\\tlocalhost\\n(.*\\n)*127\\.0\\.1\\.1\\t${boot.node.hostname}\\n$`));
  assert.doesNotMatch(readFileSync(join(node.root, 'etc/hosts'), 'utf8'), /raspberrypi/);
}

describe('gdo first boot', () => {
  const t = tempDir('firstboot');
  const org = foundOrg(join(t.dir));
  const boot = bootstrapFor(org, { wifi: { ssid: 'Maker Space', psk: 'correct horse battery', country: 'GB' } });
  after(() => { org.ledger.close(); t.cleanup(); });

  it('takes the bootstrap, makes keys (0600), seeds the ledger, writes config and a verifying request', () => {
    const node = makeNode(t.dir, boot);
    const log: string[] = [];
    const r = runFirstboot({ ...node.opts, log: (m) => log.push(m) });
    assertFinished(node, org, boot, r);
    assert.equal(r.name, 'front-door');
    assert.deepEqual(log, r.did);
    assert.ok(r.did.some((d) => /deleted .*bootstrap\.json/.test(d)));
    assert.ok(!log.join('\n').includes('broker secret') && !log.join('\n').includes(boot.token), 'no secrets in the log');
    const wifi = join(node.root, 'etc/NetworkManager/system-connections/gdo-wifi.nmconnection');
    assert.equal(mode(wifi), 0o600);
    assert.match(readFileSync(wifi, 'utf8'), /\[wifi\]\nmode=infrastructure\nssid=Maker Space\n\n\[wifi-security\]\nkey-mgmt=wpa-psk\npsk=correct horse battery\n/);
    assert.equal(readFileSync(join(node.fat, 'cmdline.txt'), 'utf8'), 'console=serial0,115200 root=PARTUUID=6c0ffee5-02 rootfstype=ext4 rootwait cfg80211.ieee80211_regdom=GB\n');

    // Run again (an admin re-running it, or the unit after a reboot): nothing changes.
    const before = readFileSync(join(node.opts.stateDir, 'enrol-request.json'));
    const again = runFirstboot(node.opts);
    assert.deepEqual(again.did, []);
    assert.equal(again.key, r.key);
    assert.deepEqual(readFileSync(join(node.opts.stateDir, 'enrol-request.json')), before);
  });

  for (const step of FIRSTBOOT_STEPS.filter((s) => s !== 'done')) {
    it(`finishes after a power cut right after step '${step}', keeping any key already made`, () => {
      const node = makeNode(t.dir, boot);
      assert.throws(() => runFirstboot({ ...node.opts, onStep: (s) => { if (s === step) throw new Error(`power cut after ${s}`); } }), /power cut/);
      // gdo-firstboot.service runs while either file exists (its ConditionPathExists=| lines).
      assert.ok(existsSync(node.opts.bootstrap) || existsSync(join(node.opts.stateDir, 'firstboot.pending')), 'the unit would run again');
      const keyBefore = readNodeKeys(node.opts.stateDir)?.sign.publicKey.toString('hex');
      const r = runFirstboot(node.opts);
      assertFinished(node, org, boot, r);
      if (keyBefore) assert.equal(r.key, keyBefore, 'the key made before the cut is kept');
    });
  }

  it('finishes when the cut came between zeroing the FAT copy and unlinking it, and clears stale temp files', () => {
    const node = makeNode(t.dir, boot);
    mkdirSync(node.opts.stateDir, { recursive: true });
    writeFileSync(join(node.opts.stateDir, 'bootstrap.json'), encodeBootstrap(boot), { mode: 0o600 });
    writeFileSync(join(node.opts.stateDir, 'firstboot.pending'), '');
    writeFileSync(node.opts.bootstrap, Buffer.alloc(encodeBootstrap(boot).length));
    writeFileSync(join(node.opts.stateDir, 'node.key.tmp-12345'), 'half');
    assertFinished(node, org, boot, runFirstboot(node.opts));
  });

  it('accepts the genesis even when the clock is behind it (a Pi without RTC before NTP)', () => {
    const d = tempDir('firstboot-clock');
    try {
      const ahead = Date.now() + 30 * 86_400_000;
      const admin = signerFor('future admin');
      const l = Ledger.open({ path: join(d.dir, 'ledger.db'), dapps: allDapps, now: () => ahead, synchronous: 'OFF' });
      const { event } = l.append(admin, 'org', 'genesis', { name: 'Future Space', admins: [{ key: admin.publicKey.toString('hex'), name: 'Ada' }] }, { now: ahead });
      const future = { dataDir: d.dir, ledger: l, org: hex(event.id), genesis: event.raw } as Org;
      const fb = bootstrapFor(future);
      const node = makeNode(d.dir, fb);
      assertFinished(node, future, fb, runFirstboot(node.opts));
      l.close();
    } finally { d.cleanup(); }
  });

  it('sets exact modes under the unit\'s UMask=0077', () => {
    const node = makeNode(t.dir, boot);
    const old = process.umask(0o077);
    try { runFirstboot(node.opts); } finally { process.umask(old); }
    assert.equal(mode(join(node.root, 'etc/hostname')), 0o644);
    assert.equal(mode(node.opts.config), 0o644);
    assert.equal(mode(join(node.opts.stateDir, 'node.key')), 0o600);
  });

  it('refuses clearly: no bootstrap, a broken one (left in place), a different one, a damaged key, another org', () => {
    const none = makeNode(t.dir, boot);
    writeFileSync(none.opts.bootstrap, '');
    const empty = none.opts.bootstrap;
    expectError('ENROL_BAD_BOOTSTRAP', /bootstrap\.json: not JSON/, () => runFirstboot(none.opts));
    assert.ok(existsSync(empty), 'a broken bootstrap stays where the installer can replace it');
    assert.equal(readNodeKeys(none.opts.stateDir), undefined, 'no key made for a broken bootstrap');

    const missing = makeNode(t.dir, boot);
    expectError('ENROL_NO_BOOTSTRAP', /no bootstrap at .*none\.json nor .*var\/lib\/gdo\/bootstrap\.json: provision this node/,
      () => runFirstboot({ ...missing.opts, bootstrap: join(missing.fat, 'gdo/none.json') }));

    const twice = makeNode(t.dir, boot);
    runFirstboot(twice.opts);
    writeFileSync(twice.opts.bootstrap, encodeBootstrap({ ...boot, token: 'cd'.repeat(32) }));
    expectError('ENROL_STATE', /differs from the bootstrap this node already took/, () => runFirstboot(twice.opts));

    const damaged = makeNode(t.dir, boot);
    runFirstboot(damaged.opts);
    writeFileSync(join(damaged.opts.stateDir, 'node.key'), '{"format":"gdo-node-ed25519-v1"}');
    expectError('ENROL_STATE', /node\.key is not a gdo-node-ed25519-v1 key file/, () => runFirstboot(damaged.opts));

    const other = tempDir('firstboot-other');
    try {
      const o2 = foundOrg(other.dir, 'other admin', 'Other Space');
      const moved = makeNode(t.dir, boot);
      runFirstboot(moved.opts);
      const b2 = bootstrapFor(o2);
      writeFileSync(join(moved.opts.stateDir, 'bootstrap.json'), encodeBootstrap(b2));
      expectError('ENROL_STATE', /ledger\.db: database belongs to org [0-9a-f]{12}, expected [0-9a-f]{12}/, () => runFirstboot(moved.opts));
      o2.ledger.close();
    } finally { other.cleanup(); }
  });
});
