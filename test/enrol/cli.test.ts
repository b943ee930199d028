// The enrolment path end to end through the gdo CLI as separate processes, the way an admin and a node run
// it: init, provision onto a running Pi's root (--target), first boot there, approve from the request file the
// node left on its boot partition, the node imports the admin's ledger and finds itself enrolled with a site
// secret it can open; list, refusals with exit 3, revoke.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allDapps } from '../../agent/dapps.ts';
import { readNodeKeys } from '../../agent/enrol/node-keys.ts';
import { enrolmentState, nodeSiteSecret } from '../../agent/enrol/status.ts';
import { tokenHash } from '../../agent/enrol/token.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { gdoCli, tempDir } from './helpers.ts';

const gdo = gdoCli;

function ok(args: string[]): unknown {
  const r = gdo([...args, '--json']);
  assert.equal(r.code, 0, `gdo ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout);
}

describe('gdo provision / firstboot / node approve, end to end', () => {
  const t = tempDir('cli');
  const data = join(t.dir, 'admin');
  const pi = join(t.dir, 'pi'); // a running Pi's root, as `gdo provision --target` sees it
  const state = join(pi, 'var/lib/gdo');
  let request = '';

  before(() => {
    mkdirSync(join(pi, 'boot/firmware'), { recursive: true });
    mkdirSync(join(pi, 'etc/gdo'), { recursive: true });
    writeFileSync(join(pi, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n');
    writeFileSync(join(t.dir, 'broker.pass'), 'hub password\n');
    writeFileSync(join(t.dir, 'site.json'), JSON.stringify({ name: 'Test Space', timezone: 'Europe/Berlin' }));
    ok(['init', '--name', 'Test Space', '--data', data]);
  });
  after(() => t.cleanup());

  it('provisions a running Pi: bootstrap 0600 under boot/firmware/gdo, token hash recorded, no private key', () => {
    const r = ok(['provision', '--target', pi, '--node', 'front-door', '--role', 'door', '--broker', 'mqtts://hub.local:8883',
      '--broker-pass-file', join(t.dir, 'broker.pass'), '--site', join(t.dir, 'site.json'), '--data', data]) as { tokenSha256: string; notes: string[] };
    const file = join(pi, 'boot/firmware/gdo/bootstrap.json');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    const boot = JSON.parse(readFileSync(file, 'utf8')) as { token: string; broker: unknown; node: unknown; site: unknown };
    assert.deepEqual(boot.node, { name: 'front-door', roles: ['door'], hostname: 'front-door' });
    assert.deepEqual(boot.broker, { url: 'mqtts://hub.local:8883', username: 'front-door', password: 'hub password' });
    assert.deepEqual(boot.site, { name: 'Test Space', timezone: 'Europe/Berlin' });
    assert.doesNotMatch(readFileSync(file, 'utf8'), /privateKey|seed|"data"/);
    const rec = JSON.parse(readFileSync(join(data, 'provisioned/front-door.json'), 'utf8')) as { tokenSha256: string };
    assert.equal(rec.tokenSha256, tokenHash(boot.token));
    assert.equal(r.tokenSha256, rec.tokenSha256);
    assert.ok(r.notes.some((n) => /gdo is not installed under .* run provisioning\/install\.sh/.test(n)));
    const again = gdo(['provision', '--target', pi, '--node', 'front-door', '--role', 'door', '--data', data]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^gdo: ENROL_PROVISION: .*bootstrap\.json already holds the bootstrap of node 'front-door'; pass --force/);
  });

  it('runs first boot on the Pi: keys 0600, FAT copy gone, request on the boot partition', () => {
    const r = ok(['firstboot', '--bootstrap', join(pi, 'boot/firmware/gdo/bootstrap.json'), '--state', state, '--config', join(pi, 'etc/gdo/agent.json'), '--root', pi]) as { name: string; key: string };
    assert.equal(r.name, 'front-door');
    for (const f of ['node.key', 'node-kx.key', 'bootstrap.json', 'broker.pass']) assert.equal(statSync(join(state, f)).mode & 0o777, 0o600, f);
    assert.throws(() => statSync(join(pi, 'boot/firmware/gdo/bootstrap.json')), /ENOENT/);
    request = join(pi, 'boot/firmware/gdo/enrol-request.json');
    const req = JSON.parse(readFileSync(request, 'utf8')) as { key: string };
    assert.equal(req.key, r.key);
    const printed = gdo(['node', 'request', '--state', state]);
    assert.equal(printed.code, 0);
    assert.deepEqual(JSON.parse(printed.stdout), req);
  });

  it('lists the node as provisioned, checks requests in a directory, then approves it', () => {
    const listed = ok(['node', 'list', '--data', data]) as Array<{ name: string; state: string }>;
    assert.deepEqual(listed.map((n) => [n.name, n.state]), [['front-door', 'provisioned']]);
    const checked = ok(['node', 'requests', '--dir', join(pi, 'boot/firmware/gdo'), '--data', data]) as Array<{ name: string; ok: boolean; verdict: string }>;
    assert.equal(checked.length, 1);
    assert.equal(checked[0]?.ok, true, checked[0]?.verdict);

    const wrongPass = gdo(['node', 'approve', 'front-door', '--request', request, '--data', data], { GDO_PASSPHRASE: 'not the passphrase' });
    assert.equal(wrongPass.code, 3);
    assert.match(wrongPass.stderr, /wrong passphrase/);

    const r = gdo(['node', 'approve', 'front-door', '--request', request, '--data', data, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const approved = JSON.parse(r.stdout) as { key: string; roles: string[]; event: string; siteSecretCreated: boolean };
    assert.equal(approved.siteSecretCreated, false, 'gdo init made the site secret');
    assert.equal(r.stderr, '');
    assert.deepEqual(approved.roles, ['door']);

    // The node learns of it through the ledger (here a bundle, as on a USB stick) and can open its secret.
    const bundle = join(t.dir, 'ledger.bundle');
    ok(['ledger', 'export', '--out', bundle, '--data', data]);
    ok(['ledger', 'import', bundle, '--data', state]);
    const keys = readNodeKeys(state)!;
    const l = Ledger.open({ path: join(state, 'ledger.db'), dapps: allDapps });
    try {
      assert.equal(enrolmentState(l, approved.key).state, 'enrolled');
      assert.deepEqual(nodeSiteSecret(l, approved.key, keys.kx.privateKey), readFileSync(join(data, 'site-secret')));
    } finally { l.close(); }

    const listedAfter = ok(['node', 'list', '--data', data]) as Array<{ name: string; state: string; roles: string[]; siteSecret: boolean }>;
    assert.deepEqual(listedAfter.map((n) => [n.name, n.state, n.roles.join(','), n.siteSecret]), [['front-door', 'enrolled', 'door', true]]);
  });

  it('refuses bad requests with exit 3 and one clear line', () => {
    const twice = gdo(['node', 'approve', 'front-door', '--request', request, '--data', data]);
    assert.equal(twice.code, 3);
    assert.match(twice.stderr, /^gdo: ENROL_CONFLICT: node 'front-door' is already enrolled with key [0-9a-f]{12}\n$/);
    const forged = join(t.dir, 'forged.json');
    writeFileSync(forged, readFileSync(request, 'utf8').replace('"roles":["door"]', '"roles":["hub"]'));
    const bad = gdo(['node', 'approve', 'front-door', '--request', forged, '--data', data]);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /^gdo: ENROL_BAD_SIGNATURE: .*forged\.json: the signature does not verify/);
    const missing = gdo(['node', 'approve', 'front-door', '--data', data]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /give exactly one of --request FILE or --broker URL/);
  });

  it('revokes the node', () => {
    const r = ok(['node', 'revoke', 'front-door', '--reason', 'moved to the workshop', '--data', data]) as { name: string };
    assert.equal(r.name, 'front-door');
    const listed = ok(['node', 'list', '--data', data]) as Array<{ name: string; state: string }>;
    assert.deepEqual(listed.map((n) => [n.name, n.state]), [['front-door', 'revoked']]);
    const again = gdo(['node', 'revoke', 'front-door', '--data', data]);
    assert.equal(again.code, 3);
    assert.match(again.stderr, /is already revoked/);
  });
});
