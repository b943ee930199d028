// The bootstrap's `config` (the installer's sections of agent.json, agent/enrol/node-config.ts): checked with
// the agent's schema when the bootstrap is read, so first boot refuses a bad one before it moves anything;
// a good one is merged into the image's agent.json (sections replaced whole, sync key by key) and the result
// is a config the agent accepts. The CLI path, provision to config check, is test/provisioning/examples.test.ts.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfig } from '../../agent/daemon/config/index.ts';
import { encodeBootstrap, parseBootstrap, type Bootstrap } from '../../agent/enrol/bootstrap.ts';
import { runFirstboot } from '../../agent/enrol/firstboot.ts';
import { bootstrapFor, expectError, foundOrg, tempDir } from './helpers.ts';

const FRONT_DOOR = JSON.parse(readFileSync(new URL('../../provisioning/examples/front-door.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe('bootstrap config: the node\'s wiring from provisioning to agent.json', () => {
  const t = tempDir('boot-config');
  after(() => t.cleanup());
  const org = foundOrg(t.dir);
  org.ledger.close();
  let n = 0;

  function node(boot: Bootstrap, agentJson: Record<string, unknown>): { root: string; fatFile: string; config: string; stateDir: string } {
    const root = join(t.dir, `node${n++}`);
    mkdirSync(join(root, 'boot/firmware/gdo'), { recursive: true });
    mkdirSync(join(root, 'etc/gdo'), { recursive: true });
    writeFileSync(join(root, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n');
    const fatFile = join(root, 'boot/firmware/gdo/bootstrap.json');
    writeFileSync(fatFile, encodeBootstrap(boot));
    const config = join(root, 'etc/gdo/agent.json');
    writeFileSync(config, JSON.stringify(agentJson));
    return { root, fatFile, config, stateDir: join(root, 'var/lib/gdo') };
  }

  it('refuses a bootstrap whose config breaks the schema, naming the key under config', () => {
    const dup = structuredClone(FRONT_DOOR) as { doors: Array<{ pins: Record<string, unknown> }> };
    dup.doors[0]!.pins['buzzer'] = { line: 22 };
    const bytes = (config: unknown): Buffer => encodeBootstrap({ ...bootstrapFor(org), config } as Bootstrap);
    expectError('ENROL_BAD_BOOTSTRAP', /^b\.json: config\.doors\[0\]\.pins\.(led|buzzer)\.line must differ from pins\.(led|buzzer)\.line, got 22 for both$/, () => parseBootstrap(bytes(dup), 'b.json'));
    expectError('ENROL_BAD_BOOTSTRAP', /^b\.json: config\.state_dir is not for --config: first boot writes it/, () => parseBootstrap(bytes({ state_dir: '/tmp' }), 'b.json'));
    expectError('ENROL_BAD_BOOTSTRAP', /^b\.json: config\.sync\.username is not for --config: give --broker-user/, () => parseBootstrap(bytes({ sync: { username: 'x' } }), 'b.json'));
    expectError('ENROL_BAD_BOOTSTRAP', /^b\.json: config must hold a JSON object/, () => parseBootstrap(bytes([1]), 'b.json'));
    expectError('ENROL_BAD_BOOTSTRAP', /^b\.json: config\.machines lists 1 machine, so the node needs the machine role/, () => parseBootstrap(bytes({
      readers: [{ id: 'r' }], machines: [{ id: 'laser', pins: { relay: { line: 17 } } }],
    }), 'b.json'));
  });

  it('first boot leaves a bad bootstrap on the boot partition and writes nothing', () => {
    const boot = { ...bootstrapFor(org), config: { ...FRONT_DOOR, doors: [{ id: 'front', pins: { strike: { line: 60 } } }] } } as Bootstrap;
    const nd = node(boot, { state_dir: '/var/lib/gdo', log: { level: 'info' } });
    const before = readFileSync(nd.config);
    expectError('ENROL_BAD_BOOTSTRAP', /config\.doors\[0\]\.pins\.strike\.line must be an integer 0\.\.53, got 60/, () => runFirstboot({ bootstrap: nd.fatFile, stateDir: nd.stateDir, config: nd.config, root: nd.root }));
    assert.ok(existsSync(nd.fatFile), 'the installer can still see and replace it');
    assert.ok(!existsSync(join(nd.stateDir, 'bootstrap.json')));
    assert.ok(readFileSync(nd.config).equals(before), 'agent.json untouched');
  });

  it('merges into the image\'s agent.json: sections replaced whole, sync key by key; the agent accepts it; a re-run changes nothing', () => {
    const boot = {
      ...bootstrapFor(org, { node: { name: 'hub', roles: ['hub'], hostname: 'hub' } }),
      broker: { url: 'embedded', secret: 'ab'.repeat(32) },
      config: { sync: { broker_operators: ['desk'] }, log: { level: 'warn' } },
    } as Bootstrap;
    const image = { state_dir: '/var/lib/gdo', log: { level: 'debug' }, http: { listen: '127.0.0.1:9001' }, sync: { embedded_listen: '127.0.0.1:8883' } };
    const nd = node(boot, image);
    const opts = { bootstrap: nd.fatFile, stateDir: nd.stateDir, config: nd.config, root: nd.root };
    runFirstboot(opts);
    const written = JSON.parse(readFileSync(nd.config, 'utf8')) as Record<string, Record<string, unknown>>;
    assert.deepEqual(written['log'], { level: 'warn' }, 'the bootstrap\'s section wins');
    assert.deepEqual(written['http'], { listen: '127.0.0.1:9001' }, 'what the bootstrap leaves out stays');
    assert.equal(written['sync']!['embedded_listen'], '127.0.0.1:8883');
    assert.deepEqual(written['sync']!['broker_operators'], ['desk']);
    assert.equal(written['sync']!['broker'], 'embedded');
    assert.equal(written['sync']!['broker_secret_file'], join(nd.stateDir, 'broker.secret'));
    const cfg = loadConfig(nd.config);
    assert.deepEqual([cfg.node.name, cfg.sync.broker_operators, cfg.log.level], ['hub', ['desk'], 'warn']);
    const mtime = statSync(nd.config).mtimeMs;
    assert.deepEqual(runFirstboot(opts).did, []);
    assert.equal(statSync(nd.config).mtimeMs, mtime);
  });
});
