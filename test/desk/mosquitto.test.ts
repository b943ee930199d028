// The desk against a site's own Mosquitto on plain loopback TCP, with the password and ACL files that
// `gdo broker passwd|acl` make: the operator rules let a desk publish what it signs live and another peer
// read it. Here the other peer is a second desk (a copy of the data directory, operator 'backoffice')
// running `gdo sync --watch`; with no hub in the ledger, the push is confirmed by the online peer.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, it } from 'node:test';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.ts';
import { tempDir } from '../daemon/helpers.ts';
import { gdo, ok, ROOT, waitFor } from './site.ts';

const t = tempDir('gdo-desk-mosquitto-');
const desk = join(t.dir, 'desk');
const back = join(t.dir, 'backoffice');
let broker: MosquittoBroker;

before(async () => {
  ok(await gdo(['init', '--name', 'Test Space', '--data', desk]), 'gdo init');
  const secret = join(desk, 'broker.secret');
  ok(await gdo(['broker', 'passwd', '--secret-file', secret, '--operators', 'office,backoffice', '--out', join(t.dir, 'passwd'), '--data', desk]), 'broker passwd');
  ok(await gdo(['broker', 'acl', '--operators', 'office,backoffice', '--out', join(t.dir, 'acl'), '--data', desk]), 'broker acl');
  broker = await startMosquitto({ passwordFile: join(t.dir, 'passwd'), aclFile: join(t.dir, 'acl') });
  cpSync(desk, back, { recursive: true });
});
after(async () => { await broker?.stop(); t.dispose(); });

it('a desk on a plain-loopback Mosquitto: connect, a change pushed live and confirmed by the online peer, which receives it', async () => {
  const url = `mqtt://127.0.0.1:${broker.port}`;
  // Nobody on the site yet (a new site: no node enrolled): connected, with a warning saying so.
  const lonely = await gdo(['site', 'connect', '--broker', url, '--name', 'backoffice', '--data', back]);
  assert.equal(lonely.code, 0, lonely.stderr);
  assert.match(lonely.stderr, /^gdo: warning: no node of the site is visible on mqtt:\/\/127\.0\.0\.1:\d+ yet: expected before the first node is enrolled/m);
  const watch = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'agent/cli/main.ts'), 'sync', '--watch', '--json', '--wait', '3', '--data', back], {
    cwd: ROOT, env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  watch.stdout.on('data', (c: Buffer) => { out += c.toString(); });
  watch.stderr.on('data', (c: Buffer) => { err += c.toString(); });
  const exited = new Promise<number | null>((resolve) => watch.once('exit', (code) => resolve(code)));
  try {
    // Alone on the broker its first reconciliation finds no hub (exit status aside, it keeps watching).
    await waitFor(() => /watching the site/.test(err), 'the watch to start', 60_000);

    const wrong = join(t.dir, 'wrong.pass');
    writeFileSync(wrong, 'nope\n', { mode: 0o600 });
    const refused = await gdo(['site', 'connect', '--broker', url, '--name', 'office', '--password-file', wrong, '--data', desk]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^gdo: SITE_(AUTH|NOT_AUTHORISED): the site's broker at mqtt:\/\/127\.0\.0\.1:\d+ (refused the password of operator 'office'|does not let operator 'office' in).*; nothing recorded$/m);

    const c = await gdo(['site', 'connect', '--broker', url, '--name', 'office', '--json', '--data', desk]);
    const connected = JSON.parse(ok(c, 'site connect').stdout) as { peers_online: string[]; password_from: string };
    assert.deepEqual(connected.peers_online, ['backoffice']);
    assert.match(connected.password_from, /broker\.secret$/);

    const add = await gdo(['member', 'add', 'alice', '--name', 'Alice', '--json', '--data', desk]);
    const push = (JSON.parse(ok(add, 'member add').stdout) as { push: { state: string; hub: string } }).push;
    assert.deepEqual([push.state, push.hub], ['delivered', 'backoffice']);
    await waitFor(() => out.split('\n').slice(1).some((l) => l !== '' && (JSON.parse(l) as { received: number }).received > 0), 'the watching desk to receive it', 15_000);
    watch.kill('SIGINT');
    assert.equal(await exited, 0, err);
    const shown = ok(await gdo(['member', 'show', 'alice', '--data', back]), 'member show on the other desk');
    assert.match(shown.stdout, /Alice/);
  } finally {
    watch.kill('SIGKILL');
    rmSync(join(t.dir, 'wrong.pass'), { force: true });
  }
});
