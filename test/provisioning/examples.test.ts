// provisioning/examples/ through the commands an installer types, each a separate gdo process: gdo init,
// gdo provision --config (onto a running Pi's root and onto a built fixture image), gdo
// firstboot, gdo config check. The agent.json first boot writes passes the schema and drives the pins of
// docs/wiring.md; a bad node config is refused naming its key path, with nothing written anywhere.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseConfig } from '../../agent/daemon/config/index.ts';
import { parseBootstrap } from '../../agent/enrol/bootstrap.ts';
import { buildImage } from '../../image-build/index.ts';
import { gdoCli, tempDir, type CliRun } from '../enrol/helpers.ts';
import { makeBaseImage, makeBundle, makeFakeAddons, makeFakeRuntime, sh } from '../image/fixture.ts';
import { checkNode, read, wiringRows, type NodeJson } from '../docs/wiring-table.ts';

const EXAMPLES = fileURLToPath(new URL('../../provisioning/examples/', import.meta.url));
const example = (name: string): string => join(EXAMPLES, name);
const ROOT_OFFSET = 44 << 20; // the fixture image's rootfs (test/image/fixture.ts)
const BOOT_OFFSET = 8 << 20;

function ok(r: CliRun, what: string): string {
  assert.equal(r.code, 0, `${what} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** A running Pi's root as `gdo provision --target` sees it: Raspberry Pi OS with its boot partition mounted. */
function piRoot(dir: string): string {
  mkdirSync(join(dir, 'boot/firmware'), { recursive: true });
  mkdirSync(join(dir, 'etc/gdo'), { recursive: true });
  writeFileSync(join(dir, 'etc/hosts'), '127.0.0.1\tlocalhost\n127.0.1.1\traspberrypi\n');
  return dir;
}

function firstboot(pi: string): void {
  ok(gdoCli(['firstboot', '--bootstrap', join(pi, 'boot/firmware/gdo/bootstrap.json'), '--state', join(pi, 'var/lib/gdo'),
    '--config', join(pi, 'etc/gdo/agent.json'), '--root', pi]), 'gdo firstboot');
}

const md = read('docs/wiring.md');
const doorRows = wiringRows(md, '## Door node');
const machineRows = wiringRows(md, '## Machine node');

describe('provisioning/examples: provisioned, first-booted, checked', () => {
  const t = tempDir('examples');
  const data = join(t.dir, 'space');
  const secret = join(data, 'broker.secret');

  before(() => {
    ok(gdoCli(['init', '--name', 'Example Space', '--data', data]), 'gdo init');
    // gdo init makes the broker secret where it knows how; otherwise it is the installer's next command.
    if (!existsSync(secret)) ok(gdoCli(['broker', 'secret', '--out', secret]), 'gdo broker secret');
  });
  after(() => t.cleanup());

  const cases = [
    { file: 'front-door.json', node: 'front-door', role: 'door', broker: 'mqtts://hub.local:8883', kind: 'doors' as const, rows: doorRows },
    { file: 'laser.json', node: 'laser', role: 'machine', broker: 'mqtts://hub.local:8883', kind: 'machines' as const, rows: machineRows },
    { file: 'hub.json', node: 'hub', role: 'hub', broker: 'embedded', kind: undefined, rows: [] },
  ];
  for (const c of cases) {
    it(`${c.file}: --target, first boot, an agent.json that gdo config check accepts, wired as docs/wiring.md says`, () => {
      const pi = piRoot(join(t.dir, c.node));
      ok(gdoCli(['provision', '--target', pi, '--node', c.node, '--role', c.role, '--broker', c.broker,
        '--broker-secret-file', secret, '--config', example(c.file), '--data', data]), 'gdo provision');
      firstboot(pi);
      const file = join(pi, 'etc/gdo/agent.json');
      const check = JSON.parse(ok(gdoCli(['config', 'check', file, '--json']), 'gdo config check')) as { ok: boolean };
      assert.equal(check.ok, true);
      const written = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      const cfg = parseConfig(written);
      const ex = JSON.parse(readFileSync(example(c.file), 'utf8')) as Record<string, unknown>;
      // Every section of the example reached the node as it was written, beside first boot's identity.
      for (const [k, v] of Object.entries(ex)) {
        if (k === 'sync') for (const [sk, sv] of Object.entries(v as object)) assert.deepEqual((written['sync'] as Record<string, unknown>)[sk], sv, `sync.${sk}`);
        else assert.deepEqual(written[k], v, k);
      }
      assert.deepEqual(cfg.node, { name: c.node, roles: [c.role] });
      assert.equal(cfg.sync.broker, c.broker);
      if (c.kind) assert.deepEqual(checkNode(`${c.node} agent.json`, written as NodeJson, c.kind, c.rows, { reader: true }), []);
      else {
        assert.deepEqual([cfg.doors.length, cfg.machines.length, cfg.sync.broker_operators], [0, 0, ['desk']]);
      }
    });
  }

  it('notes a door or machine role that would drive nothing (a forgotten --config), and none with the example', () => {
    const bare = gdoCli(['provision', '--target', piRoot(join(t.dir, 'bare')), '--node', 'side-door', '--role', 'door,machine', '--broker', 'mqtts://hub.local:8883',
      '--broker-secret-file', secret, '--data', data]);
    assert.equal(bare.code, 0, bare.stderr);
    assert.match(bare.stderr, /note: 'side-door' has the door role but drives no door: give its wiring with --config \(provisioning\/examples\/front-door\.json\)/);
    assert.match(bare.stderr, /note: 'side-door' has the machine role but locks out no machine/);
    const wired = gdoCli(['provision', '--target', piRoot(join(t.dir, 'wired')), '--node', 'rear-door', '--role', 'door', '--broker', 'mqtts://hub.local:8883',
      '--broker-secret-file', secret, '--config', example('front-door.json'), '--data', data]);
    assert.equal(wired.code, 0, wired.stderr);
    assert.doesNotMatch(wired.stderr, /drives no door/);
  });

  describe('a bad node config is refused, naming the key path, and nothing is written', () => {
    const front = JSON.parse(readFileSync(example('front-door.json'), 'utf8')) as { doors: Array<{ pins: Record<string, unknown> }> };
    const variant = (name: string, change: (c: typeof front) => unknown): string => {
      const c = structuredClone(front);
      const out = change(c) ?? c;
      const file = join(t.dir, name);
      writeFileSync(file, JSON.stringify(out, null, 2));
      return file;
    };
    const refused: Array<{ what: string; file: () => string; role?: string; broker?: string; error: RegExp }> = [
      {
        what: 'a wrong key path', error: /bad-key\.json: doors\[0\]\.pins\.strke is not a known key/,
        file: () => variant('bad-key.json', (c) => { const p = c.doors[0]!.pins; p['strke'] = p['strike']; delete p['strike']; }),
      },
      {
        what: 'a pin used twice', error: /dup-pin\.json: doors\[0\]\.pins\.rex\.line must differ from pins\.strike\.line, got 17 for both/,
        file: () => variant('dup-pin.json', (c) => { c.doors[0]!.pins['rex'] = { line: 17, active_low: true }; }),
      },
      {
        what: 'the reset line on a door pin', error: /reset-pin\.json: readers\[0\]\.reset_line must differ from doors\[0\]\.pins\.door_switch\.line, got GPIO 5 for both/,
        file: () => variant('reset-pin.json', (c) => { (c as unknown as { readers: Array<{ reset_line: number }> }).readers[0]!.reset_line = 5; }),
      },
      {
        what: 'a key provisioning owns', error: /owned\.json: node is not for --config: first boot writes it from --node and --role/,
        file: () => variant('owned.json', (c) => ({ ...c, node: { name: 'back-door', roles: ['door'] } })),
      },
      {
        what: 'a broker credential', error: /creds\.json: sync\.password_file is not for --config/,
        file: () => variant('creds.json', (c) => ({ ...c, sync: { password_file: '/tmp/x' } })),
      },
      {
        what: 'doors on a node without the door role', role: 'machine', error: /front-door\.json: doors lists 1 door, so the node needs the door role \(--role machine,door\)/,
        file: () => example('front-door.json'),
      },
      {
        what: 'hub-only keys on a door', error: /hub\.json: sync\.broker_operators is for a hub running the embedded broker \(--broker embedded\) or the site's Mosquitto \(sync\.mosquitto_dir\), got --broker mqtts:/,
        file: () => example('hub.json'),
      },
      { what: 'not JSON', error: /--config .*broken\.json is not valid JSON/, file: () => { const f = join(t.dir, 'broken.json'); writeFileSync(f, '{"doors": ['); return f; } },
    ];
    for (const r of refused) {
      it(`${r.what}: one line naming it, exit 1, no bootstrap, no provisioning record`, () => {
        const pi = piRoot(join(t.dir, `refused-${r.what.replace(/\W+/g, '-')}`));
        const res = gdoCli(['provision', '--target', pi, '--node', 'back-door', '--role', r.role ?? 'door', '--broker', r.broker ?? 'mqtts://hub.local:8883',
          '--broker-secret-file', secret, '--config', r.file(), '--data', data]);
        assert.equal(res.code, 1, res.stderr);
        assert.match(res.stderr, r.error);
        assert.equal(res.stderr.trim().split('\n').length, 1, res.stderr);
        assert.deepEqual(readdirSync(join(pi, 'boot/firmware')), [], 'nothing on the boot partition');
        assert.equal(existsSync(join(data, 'provisioned/back-door.json')), false, 'no provisioning record');
      });
    }

    it('checks the example merged with the agent.json already on the target, as first boot will merge it', () => {
      // A Pi that was the front door, made into the laser's node: the old door section stays unless replaced,
      // and names a reader laser.json does not have.
      const pi = piRoot(join(t.dir, 'was-a-door'));
      const door = JSON.parse(readFileSync(example('front-door.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(join(pi, 'etc/gdo/agent.json'), JSON.stringify({ ...door, state_dir: '/var/lib/gdo', http: { listen: '127.0.0.1:9000' } }));
      const res = gdoCli(['provision', '--target', pi, '--node', 'laser-2', '--role', 'machine', '--config', example('laser.json'), '--data', data]);
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /laser\.json merged with .*was-a-door\/etc\/gdo\/agent\.json \(what first boot writes to \/etc\/gdo\/agent\.json\): doors\[0\]\.reader must be one of 'laser', got 'entry'/);
      assert.deepEqual(readdirSync(join(pi, 'boot/firmware')), []);
      assert.equal(existsSync(join(data, 'provisioned/laser-2.json')), false);
      // With the machine's own doors section (none), the same Pi takes it; the keys the example leaves out stay.
      const laser = variant('laser-no-doors.json', () => ({ ...JSON.parse(readFileSync(example('laser.json'), 'utf8')) as object, doors: [] }));
      ok(gdoCli(['provision', '--target', pi, '--node', 'laser-2', '--role', 'machine', '--config', laser, '--data', data]), 'gdo provision');
      firstboot(pi);
      ok(gdoCli(['config', 'check', join(pi, 'etc/gdo/agent.json')]), 'gdo config check');
      const written = JSON.parse(readFileSync(join(pi, 'etc/gdo/agent.json'), 'utf8')) as Record<string, unknown>;
      assert.deepEqual([written['doors'], written['http']], [[], { listen: '127.0.0.1:9000' }]);
    });
  });

  describe('--image: the example on a built fixture image', () => {
    let image = '';
    before(async () => {
      const base = makeBaseImage(t.dir);
      makeBundle(t.dir);
      makeFakeRuntime(t.dir);
      makeFakeAddons(t.dir);
      const built = await buildImage({ base, out: join(t.dir, 'gdo.img'), bundle: join(t.dir, 'gdo.js'), runtimeDir: join(t.dir, 'runtime'), addonsDir: join(t.dir, 'addons') });
      image = join(t.dir, 'front-door.img');
      sh('cp', ['--sparse=always', built.out, image]);
    });

    it('refuses a duplicated pin and leaves the image without a bootstrap', () => {
      const bad = join(t.dir, 'image-dup-pin.json');
      const c = JSON.parse(readFileSync(example('front-door.json'), 'utf8')) as { doors: Array<{ pins: Record<string, unknown> }> };
      c.doors[0]!.pins['led'] = { line: 23 };
      writeFileSync(bad, JSON.stringify(c));
      const res = gdoCli(['provision', '--image', image, '--node', 'image-door', '--role', 'door', '--broker', 'mqtts://hub.local:8883',
        '--broker-secret-file', secret, '--config', bad, '--data', data]);
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /image-dup-pin\.json: doors\[0\]\.pins\.(led|buzzer)\.line must differ from pins\.(led|buzzer)\.line, got 23 for both/);
      assert.deepEqual(sh('mdir', ['-b', '-i', `${image}@@${BOOT_OFFSET}`, '::/gdo']).split('\n').filter((l) => l !== ''), ['::/gdo/README.txt']);
      assert.equal(existsSync(join(data, 'provisioned/image-door.json')), false);
    });

    it('carries front-door.json in the bootstrap; first boot on the image\'s files writes an agent.json that passes the check', () => {
      ok(gdoCli(['provision', '--image', image, '--node', 'image-door', '--role', 'door', '--broker', 'mqtts://hub.local:8883',
        '--broker-secret-file', secret, '--config', example('front-door.json'), '--data', data]), 'gdo provision --image');
      const boot = parseBootstrap(Buffer.from(sh('mtype', ['-i', `${image}@@${BOOT_OFFSET}`, '::/gdo/bootstrap.json'])), 'bootstrap.json');
      assert.deepEqual(boot.config, JSON.parse(readFileSync(example('front-door.json'), 'utf8')));
      // The node's files, as the card holds them: its boot partition's gdo/ and the image's /etc/gdo.
      const pi = piRoot(join(t.dir, 'image-node'));
      sh('mcopy', ['-s', '-n', '-i', `${image}@@${BOOT_OFFSET}`, '::/gdo', join(pi, 'boot/firmware')]);
      sh('debugfs', ['-R', `rdump /etc/gdo ${join(pi, 'etc')}`, `${image}?offset=${ROOT_OFFSET}`]);
      firstboot(pi);
      const file = join(pi, 'etc/gdo/agent.json');
      ok(gdoCli(['config', 'check', file]), 'gdo config check');
      const written = JSON.parse(readFileSync(file, 'utf8')) as NodeJson & { log?: unknown };
      assert.deepEqual(checkNode('image agent.json', written, 'doors', doorRows, { reader: true }), []);
      assert.deepEqual(written.log, { level: 'info' });
    });
  });
});
