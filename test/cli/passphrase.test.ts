// Passphrases at a real terminal: each `gdo` runs on a pseudo-terminal (python3's pty module), and the
// test types into it as a person would, reading everything the terminal shows. What is typed never shows;
// a new key's passphrase is asked twice (too short said before the second ask, two that differ refused);
// a wrong passphrase for an existing key may be typed three times, and the third wrong one ends the
// command with exit 3 (README: refused by the key file) having signed nothing.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { readKeyFile } from '../../agent/cli/keyfile.ts';
import { gdo, tempDir } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../../agent/cli/main.ts', import.meta.url));
const PASS = 'tr0ub4dor & 3 horses';

// Runs argv on a new pseudo-terminal; steps alternate 'expect' (a regex the terminal must show next, in
// order) and 'send' (what is typed). Prints {code, out}: the exit code and all the terminal showed.
const DRIVER = String.raw`
import json, os, pty, re, select, sys, time
spec = json.loads(sys.argv[1])
pid, fd = pty.fork()
if pid == 0:
    os.execve(spec['argv'][0], spec['argv'], spec['env'])
out = b''
pos = 0
deadline = time.time() + spec['timeout']
def pump(wait):
    global out
    r, _, _ = select.select([fd], [], [], wait)
    if not r:
        return True
    try:
        data = os.read(fd, 4096)
    except OSError:
        return False
    if not data:
        return False
    out += data
    return True
failed = None
for step in spec['steps']:
    if 'send' in step:
        os.write(fd, step['send'].encode())
        continue
    pat = re.compile(step['expect'].encode())
    while True:
        m = pat.search(out, pos)
        if m:
            pos = m.end()
            break
        if time.time() > deadline or not pump(0.1):
            failed = step['expect']
            break
    if failed:
        break
while time.time() < deadline and pump(0.2):
    pass
try:
    os.kill(pid, 9) if failed else None
except OSError:
    pass
_, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
print(json.dumps({'code': code, 'out': out.decode('utf8', 'replace'), 'failed': failed}))
`;

type Step = { expect: string } | { send: string };

function atTerminal(args: string[], steps: Step[]): { code: number; out: string } {
  const { GDO_PASSPHRASE: _no, GDO_DATA: _none, ...env } = process.env;
  const spec = { argv: [process.execPath, '--import', 'tsx', MAIN, ...args], env: { ...env, TZ: 'UTC' }, steps, timeout: 60 };
  const r = spawnSync('python3', ['-c', DRIVER, JSON.stringify(spec)], { encoding: 'utf8', timeout: 90_000 });
  assert.equal(r.status, 0, r.stderr);
  const res = JSON.parse(r.stdout) as { code: number; out: string; failed: string | null };
  assert.equal(res.failed, null, `the terminal never showed /${res.failed}/:\n${res.out}`);
  return res;
}

const type = (text: string): Step => ({ send: `${text}\r` });
const NEW = { expect: 'new operator key passphrase \\(at least 8 characters\\): ' };
const AGAIN = { expect: 'new operator key passphrase again: ' };
const ASK = { expect: 'operator key passphrase: ' };

function neverShown(out: string, typed: string[]): void {
  for (const t of typed) assert.equal(out.includes(t), false, `'${t}' was shown on the terminal:\n${out}`);
}

describe('passphrases at the terminal', () => {
  const t = tempDir('passphrase');
  const data = join(t.dir, 'space');
  after(() => t.cleanup());

  before(() => {
    // A new key at the terminal: too short (said before the second ask), then two that differ, then the same twice.
    const r = atTerminal(['init', '--name', 'Pty Space', '--data', data], [
      NEW, type('sh0rt!'), { expect: 'too short: 6 characters, at least 8' },
      NEW, type(PASS), AGAIN, type('tr0ub4dor & 3 horsez'), { expect: 'the two passphrases differ' },
      NEW, type(PASS), AGAIN, type(PASS), { expect: "created org 'Pty Space'" },
    ]);
    assert.equal(r.code, 0, r.out);
    neverShown(r.out, ['sh0rt', PASS, 'horsez']);
    assert.equal(readKeyFile(join(data, 'operator.key'), PASS).publicKey.length, 32, 'the key opens with the confirmed passphrase');
  });

  it('gdo init: a new passphrase that is never confirmed ends the command after three tries, nothing written', () => {
    const other = join(t.dir, 'never');
    const r = atTerminal(['init', '--name', 'Never', '--data', other], [
      NEW, type(PASS), AGAIN, type('something else 1'), { expect: 'the two passphrases differ' },
      NEW, type('t1ny'), { expect: 'too short: 4 characters' },
      NEW, type(PASS), AGAIN, type('something else 2'), { expect: 'the two passphrases differ' },
      { expect: 'no passphrase set after 3 tries; nothing written' },
    ]);
    assert.equal(r.code, 3, r.out);
    neverShown(r.out, [PASS, 'something else', 't1ny']);
    assert.equal(existsSync(join(other, 'operator.key')), false);
    assert.equal(existsSync(join(other, 'ledger.db')), false);
  });

  it('a signing command: two wrong passphrases, then the right one, signs', () => {
    const r = atTerminal(['member', 'add', 'bob', '--name', 'Bob', '--data', data], [
      ASK, type('wrong one 1'), { expect: 'wrong passphrase, try again \\(2 tries left\\)' },
      ASK, type('wrong one 2'), { expect: 'wrong passphrase, try again \\(1 try left\\)' },
      ASK, type(PASS),
    ]);
    assert.equal(r.code, 0, r.out);
    neverShown(r.out, ['wrong one', PASS]);
    const shown = gdo(['member', 'show', 'bob', '--data', data, '--json']);
    assert.equal(shown.code, 0, shown.stderr);
  });

  it('a signing command: three wrong passphrases end it with exit 3, and nothing is signed', () => {
    const r = atTerminal(['member', 'add', 'carol', '--name', 'Carol', '--data', data], [
      ASK, type('wrong one 1'), ASK, type('wrong one 2'), ASK, type('wrong one 3'),
      { expect: `wrong passphrase for ${join(data, 'operator.key').replace(/[.]/g, '\\.')} \\(3 tries\\)` },
    ]);
    assert.equal(r.code, 3, r.out);
    neverShown(r.out, ['wrong one']);
    assert.equal(gdo(['member', 'show', 'carol', '--data', data]).code, 1, 'carol was not added');
  });

  it('after a card UID read from the terminal (--uid -), the passphrase is still asked hidden', () => {
    const r = atTerminal(['badge', 'assign', '--member', 'bob', '--uid', '-', '--data', data], [
      { expect: 'present the card to the desk reader \\(or type its UID\\), then Enter: ' }, type('04:a2:19:c3:55:66:77'),
      ASK, type(PASS), { expect: 'bob' },
    ]);
    assert.equal(r.code, 0, r.out);
    neverShown(r.out, [PASS]);
  });

  it('Backspace edits what is typed, and arrow keys are no part of it', () => {
    const r = atTerminal(['member', 'add', 'dan', '--name', 'Dan', '--data', data], [
      ASK, { send: `${PASS}xy\u007f\u007f\u001b[D\r` },
    ]);
    assert.equal(r.code, 0, r.out);
    neverShown(r.out, [PASS]);
  });

  it('--passphrase-file: one try (a file does not change), and a clear error for a missing file', () => {
    const wrong = join(t.dir, 'wrong.pass');
    writeFileSync(wrong, 'not the passphrase\n', { mode: 0o600 });
    const bad = gdo(['member', 'add', 'erin', '--name', 'Erin', '--data', data, '--passphrase-file', wrong], { GDO_PASSPHRASE: '' });
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /^gdo: wrong passphrase for \S+operator\.key\n$/);
    const missing = gdo(['member', 'add', 'erin', '--name', 'Erin', '--data', data, '--passphrase-file', join(t.dir, 'nope')], { GDO_PASSPHRASE: '' });
    assert.equal(missing.code, 3, missing.stderr);
    assert.match(missing.stderr, /cannot read --passphrase-file \S+nope: ENOENT/);
    const right = join(t.dir, 'right.pass');
    writeFileSync(right, `${PASS}\n`, { mode: 0o600 });
    const ok = gdo(['member', 'add', 'erin', '--name', 'Erin', '--data', data, '--passphrase-file', right], { GDO_PASSPHRASE: '' });
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('no terminal and no --passphrase-file: says how to give one, and does not wait', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'member', 'add', 'fay', '--name', 'Fay', '--data', data], {
      encoding: 'utf8', input: `${PASS}\n`, env: { ...process.env, GDO_PASSPHRASE: '' }, timeout: 60_000,
    });
    assert.equal(r.status, 3, r.stderr);
    assert.match(r.stderr, /no passphrase \(use --passphrase-file FILE, or run on a terminal to be asked\)/);
    assert.doesNotMatch(r.stderr, /GDO_PASSPHRASE/);
  });
});
