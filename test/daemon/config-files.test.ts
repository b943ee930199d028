// gdo config check and gdo agent, as processes, on configurations whose keys or files are wrong
// (issue 13, item 8): prototype-named keys, a missing state_dir, a ledger path that is a directory, a
// missing or world-readable secret, a fake GPIO file that cannot be written, TLS files that are absent.
// Each is exit 78 and one line naming the key; nothing is created.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gdo, type Run } from '../cli/helpers.ts';
import { doorConfig, simReader, spawnAgent, writeJson, type SimReader } from './helpers.ts';

let root = '';
let n = 0;
before(() => { root = mkdtempSync(join(tmpdir(), 'gdo-config-files-')); });
after(() => { rmSync(root, { recursive: true, force: true }); });

/** A fresh state_dir that exists, as first boot leaves it, and a config file beside it. */
function site(config: (dir: string) => unknown): { dir: string; file: string } {
  const dir = join(root, `node-${++n}`);
  mkdirSync(dir, { mode: 0o700 });
  const file = `${dir}.json`;
  const c = config(dir);
  writeFileSync(file, typeof c === 'string' ? c : JSON.stringify(c));
  return { dir, file };
}

function check(file: string): Run { return gdo(['config', 'check', file]); }

function refusedWith(r: Run, re: RegExp): void {
  assert.equal(r.code, 78, `${r.stderr}${r.stdout}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, re);
}

describe('gdo config check: keys named after Object.prototype members', () => {
  for (const [what, text, key] of [
    ['constructor at the top', '{"constructor": {}}', 'constructor'],
    ['__proto__ at the top', '{"__proto__": {"x": 1}}', '__proto__'],
    ['toString in a section', '{"http": {"toString": "x"}}', 'http.toString'],
    ['hasOwnProperty in a door', '{"readers": [{"path": "/dev/null"}], "doors": [{"id": "front", "pins": {"strike": {"line": 17}}, "hasOwnProperty": 1}]}', 'doors[0].hasOwnProperty'],
  ] as const) {
    it(`refuses ${what}`, () => {
      const { file } = site((dir) => text.replace(/^\{/, `{"state_dir": ${JSON.stringify(dir)}, `));
      refusedWith(check(file), new RegExp(`: ${key.replace(/[[\]]/g, '\\$&')} is not a known key \\(expected one of: `));
    });
  }
});

describe('gdo config check and gdo agent: the files a config names', () => {
  it('accepts a config whose state_dir exists and whose ledger is still to be made', () => {
    const { file } = site((dir) => ({ state_dir: dir, gpio: { backend: 'fake', fake_state_file: 'gpio.json' } }));
    const r = check(file);
    assert.equal(r.code, 0, r.stderr);
  });

  it('a mistyped state_dir: refused by both, and not created', () => {
    const typo = join(root, 'no-such-state');
    const { file } = site(() => ({ state_dir: typo, http: { listen: '127.0.0.1:0' } }));
    refusedWith(check(file), /: state_dir: state directory .*no-such-state does not exist$/);
    const agent = gdo(['agent', '--config', file]);
    refusedWith(agent, /: state_dir: state directory .*no-such-state does not exist$/);
    assert.equal(agent.stdout, '', 'nothing started');
    assert.equal(existsSync(typo), false, 'the typo was not made into a directory');
  });

  it('a ledger path that is a directory: refused by both, naming ledger.file', () => {
    const { file } = site((dir) => { mkdirSync(join(dir, 'ledger.db')); return { state_dir: dir, http: { listen: '127.0.0.1:0' } }; });
    refusedWith(check(file), /: ledger\.file: .*ledger\.db is a directory, expected a file$/);
    refusedWith(gdo(['agent', '--config', file]), /: ledger\.file: .*ledger\.db is a directory, expected a file$/);
  });

  it('a ledger in a directory that does not exist is refused, not made', () => {
    const { dir, file } = site((d) => ({ state_dir: d, ledger: { file: 'db/ledger.db' } }));
    refusedWith(check(file), /: ledger\.file: the directory of .*db does not exist$/);
    assert.equal(existsSync(join(dir, 'db')), false);
  });

  it('sync.password_file: missing, then open to every user, then 0600', () => {
    const { dir, file } = site((d) => {
      writeFileSync(join(d, 'ca.crt'), 'not checked here\n');
      return { state_dir: d, sync: { broker: 'mqtts://hub.local:8883', username: 'front-door', password_file: 'broker.pass', ca_file: 'ca.crt' } };
    });
    refusedWith(check(file), /: sync\.password_file: .*broker\.pass does not exist$/);
    const pass = join(dir, 'broker.pass');
    writeFileSync(pass, 'hunter2-not-shown\n', { mode: 0o644 });
    chmodSync(pass, 0o644);
    const r = check(file);
    refusedWith(r, /: sync\.password_file: .*broker\.pass is a secret open to every user \(mode 0644\); chmod 600 it$/);
    assert.doesNotMatch(r.stderr, /hunter2/);
    chmodSync(pass, 0o600);
    assert.equal(check(file).code, 0);
    rmSync(join(dir, 'ca.crt'));
    refusedWith(check(file), /: sync\.ca_file: .*ca\.crt does not exist$/);
  });

  it('gpio.fake_state_file: in a missing directory, or a directory itself', () => {
    const { file } = site((d) => ({ state_dir: d, gpio: { backend: 'fake', fake_state_file: 'run/gpio.json' } }));
    refusedWith(check(file), /: gpio\.fake_state_file: the directory of .*run does not exist$/);
    const two = site((d) => { mkdirSync(join(d, 'gpio.json')); return { state_dir: d, gpio: { backend: 'fake', fake_state_file: 'gpio.json' } }; });
    refusedWith(check(two.file), /: gpio\.fake_state_file: .*gpio\.json is a directory, expected a file$/);
  });

  it('the embedded broker: its secret, then its TLS certificate and key', () => {
    const { dir, file } = site((d) => ({ state_dir: d, sync: { broker: 'embedded', embedded_listen: '127.0.0.1:8883' } }));
    refusedWith(check(file), /: sync\.broker_secret_file: .*broker\.secret does not exist$/);
    writeFileSync(join(dir, 'broker.secret'), `${'ab'.repeat(32)}\n`, { mode: 0o600 });
    refusedWith(check(file), /: sync\.tls_cert_file: .*broker\.crt does not exist$/);
    writeFileSync(join(dir, 'broker.crt'), 'cert\n');
    refusedWith(check(file), /: sync\.tls_key_file: .*broker\.key does not exist$/);
    writeFileSync(join(dir, 'broker.key'), 'key\n', { mode: 0o640 });
    chmodSync(join(dir, 'broker.key'), 0o604);
    refusedWith(check(file), /: sync\.tls_key_file: .*broker\.key is a secret open to every user \(mode 0604\); chmod 600 it$/);
    chmodSync(join(dir, 'broker.key'), 0o600);
    assert.equal(check(file).code, 0);
  });
});

describe('gdo agent without a sync file', () => {
  let reader: SimReader;
  before(async () => { reader = await simReader(); });
  after(async () => { await reader.dispose(); });

  it('starts its door (it decides from the replica) and its sync part names sync.password_file', async () => {
    const dir = join(root, 'door-no-pass');
    const file = writeJson(`${dir}.json`, doorConfig(dir, reader.path, {
      sync: { broker: 'mqtt://127.0.0.1:1', username: 'front-door', password_file: 'broker.pass' },
    }));
    refusedWith(check(file), /: sync\.password_file: .*broker\.pass does not exist$/);
    const agent = spawnAgent(file);
    try {
      const line = await agent.waitForLog((l) => /sync\.password_file: cannot read the broker password file \S+broker\.pass \(ENOENT\)/.test(String(l.msg)), 'the sync part naming the key', 30_000);
      assert.notEqual(line.level, 'raw', 'a log line of the running agent, not an exit message');
      assert.equal(agent.proc.exitCode, null, 'the agent runs: no exit 78 for a sync file');
    } finally { await agent.stop(); }
  });
});
