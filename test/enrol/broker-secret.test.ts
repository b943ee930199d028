// The broker credentials from provisioning to the running hub (docs/sync-protocol.md 6.1, 6.2.1): the admin's
// broker secret gives a node its own derived password in its bootstrap and a hub the secret itself; first
// boot keeps each (mode 0600) and points the agent's config at it; the hub's broker accounts, built from
// that secret, accept the password the node was given. Secrets never appear in error messages.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../agent/daemon/config/index.ts';
import { hubAccess, readBrokerSecret } from '../../agent/daemon/parts/hub-broker.ts';
import { allDapps } from '../../agent/dapps.ts';
import { parseBootstrap, validateBootstrap, type Bootstrap } from '../../agent/enrol/bootstrap.ts';
import { runFirstboot } from '../../agent/enrol/firstboot.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { derivePassword, verifyPassword } from '../../agent/sync/broker-auth.ts';
import { provisionNode } from '../../provisioning/provision.ts';
import { createSiteCa } from '../../agent/enrol/site-ca.ts';
import { bootstrapFor, expectError, foundOrg, gdoCli, tempDir } from './helpers.ts';

const mode = (p: string): number => statSync(p).mode & 0o777;

describe('broker credentials from provisioning to the hub', () => {
  const t = tempDir('broker-secret');
  after(() => t.cleanup());
  const org = foundOrg(t.dir);
  createSiteCa(t.dir, 'Test Space'); // what gdo init makes: it issues the hub's broker certificate
  const secret = randomBytes(32);
  after(() => org.ledger.close());

  async function provision(name: string, roles: Array<'door' | 'hub'>, broker: { url: string; password?: string }, brokerSecret?: Buffer): Promise<{ root: string; boot: Bootstrap }> {
    const root = join(t.dir, name);
    mkdirSync(join(root, 'boot/firmware'), { recursive: true });
    mkdirSync(join(root, 'etc/gdo'), { recursive: true });
    writeFileSync(join(root, 'etc/gdo/agent.json'), JSON.stringify({ state_dir: '/var/lib/gdo', sync: { embedded_listen: '127.0.0.1:0' } }));
    await provisionNode({ ledger: org.ledger, dataDir: t.dir, name, roles, broker, ...(brokerSecret && { brokerSecret }), target: root });
    const file = join(root, 'boot/firmware/gdo/bootstrap.json');
    return { root, boot: parseBootstrap(readFileSync(file), file) };
  }

  it('a node gets its derived password, a hub the secret; first boot keeps them; the hub accepts the node', async () => {
    const door = await provision('front-door', ['door'], { url: 'mqtts://hub.local:8883' }, secret);
    assert.deepEqual(door.boot.broker, { url: 'mqtts://hub.local:8883', username: 'front-door', password: derivePassword(secret, org.org, 'front-door') });
    const hub = await provision('hub', ['hub'], { url: 'embedded' }, secret);
    assert.deepEqual(hub.boot.broker, { url: 'embedded', secret: secret.toString('hex') });

    const state = join(hub.root, 'var/lib/gdo');
    const config = join(hub.root, 'etc/gdo/agent.json');
    runFirstboot({ bootstrap: join(hub.root, 'boot/firmware/gdo/bootstrap.json'), stateDir: state, config, root: hub.root });
    assert.equal(mode(join(state, 'broker.secret')), 0o600);
    assert.equal(readFileSync(join(state, 'broker.secret'), 'utf8'), `${secret.toString('hex')}\n`, 'what gdo broker secret writes');
    assert.doesNotMatch(readFileSync(config, 'utf8'), new RegExp(secret.toString('hex')), 'not in the world-readable config');
    const cfg = loadConfig(config);
    assert.equal(cfg.sync.broker, 'embedded');
    assert.equal(cfg.sync.broker_secret_file, join(state, 'broker.secret'));
    assert.equal(cfg.sync.password_file, '');
    assert.deepEqual(readBrokerSecret(cfg.sync.broker_secret_file), secret);

    // The hub's accounts, from its first-boot ledger and secret: the door's bootstrap password gets it in
    // as enrolling (its request only) before approval; the hub logs in as itself.
    const l = Ledger.open({ path: join(state, 'ledger.db'), dapps: allDapps });
    try {
      const a = hubAccess(l, readBrokerSecret(cfg.sync.broker_secret_file), cfg.node.name, ['office']);
      const doorUser = a.lookup!('front-door')!;
      assert.equal(doorUser.kind, 'enrolling');
      assert.equal(verifyPassword(door.boot.broker!.password!, doorUser.passwordHash!), true);
      const self = a.users.find((u) => u.name === 'hub')!;
      assert.equal(self.kind, 'node');
      assert.equal(verifyPassword(derivePassword(secret, org.org, 'hub'), self.passwordHash!), true);
      assert.ok(a.users.some((u) => u.name === 'office' && u.kind === 'operator'));
      assert.throws(() => hubAccess(l, secret, 'hub', ['hub']), /sync\.broker_operators: 'hub' is this hub's own name/);
    } finally { l.close(); }
  });

  it('refuses a hub without the secret, a password with the secret, and a secret for a node; never echoing it', async () => {
    await assert.rejects(provision('hub-2', ['hub'], { url: 'embedded' }), /a hub running the embedded broker needs the broker secret \(--broker-secret-file FILE/);
    await assert.rejects(provision('door-2', ['door'], { url: 'mqtts://hub:8883', password: 'p' }, secret), /give the broker password or the broker secret, not both/);
    const hex = secret.toString('hex');
    expectError('ENROL_BAD_BOOTSTRAP', /^b: broker\.secret is for a hub running the embedded broker/, () =>
      validateBootstrap({ ...bootstrapFor(org), broker: { url: 'mqtt://hub:1883', secret: hex } }, 'b'));
    expectError('ENROL_BAD_BOOTSTRAP', /^b: broker\.secret must be the broker secret in lowercase hex \(16 to 512 bytes/, () =>
      validateBootstrap({ ...bootstrapFor(org), broker: { url: 'embedded', secret: hex.slice(0, 20) } }, 'b'));
    for (const s of [hex, `${hex}zz`]) {
      assert.throws(() => validateBootstrap({ ...bootstrapFor(org), broker: { url: 'mqtt://hub:1883', secret: s } }, 'b'),
        (err: Error) => !err.message.includes(hex.slice(0, 16)), 'the secret is not in the message');
    }
    const bad = join(t.dir, 'bad.secret');
    writeFileSync(bad, 'not hex\n', { mode: 0o600 });
    assert.throws(() => readBrokerSecret(bad), /^Error: sync\.broker_secret_file: \S+bad\.secret: a broker secret is at least 16 bytes written as hex digits/);
  });

  it('gdo provision --broker-secret-file: the password gdo broker password gives', () => {
    const data = join(t.dir, 'cli');
    mkdirSync(data);
    const cliOrg = foundOrg(data);
    cliOrg.ledger.close();
    createSiteCa(data, 'Test Space');
    const file = join(data, 'broker.secret');
    assert.equal(gdoCli(['broker', 'secret', '--out', file]).code, 0);
    mkdirSync(join(data, 'pi/boot/firmware'), { recursive: true });
    const r = gdoCli(['provision', '--target', join(data, 'pi'), '--node', 'laser', '--role', 'machine', '--broker', 'mqtts://hub:8883', '--broker-secret-file', file, '--data', data, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const boot = JSON.parse(readFileSync(join(data, 'pi/boot/firmware/gdo/bootstrap.json'), 'utf8')) as Bootstrap;
    const want = derivePassword(Buffer.from(readFileSync(file, 'utf8').trim(), 'hex'), cliOrg.org, 'laser');
    assert.deepEqual(boot.broker, { url: 'mqtts://hub:8883', username: 'laser', password: want });
    const both = gdoCli(['provision', '--target', join(data, 'pi'), '--node', 'laser', '--role', 'machine', '--broker', 'mqtts://hub:8883', '--broker-secret-file', file, '--broker-pass-file', file, '--data', data]);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /give --broker-pass-file or --broker-secret-file, not both/);
  });
});
