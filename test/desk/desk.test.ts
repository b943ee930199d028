// The staff desk as a peer of a real site (issue 12, item 1): a hub `gdo agent` with the embedded TLS
// broker, a door `gdo agent` on a simulated reader, and the CLI as its own process for every command,
// typed as the README types it. The site is brought up by `gdo site connect` and `gdo node approve NAME`
// without --broker (test/desk/site.ts), so every approval below reached the nodes through the desk's push.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ALICE_UID, buildSite, freePort, ok, OPERATOR, ROOT, waitFor, type DeskSite, type Run } from './site.ts';

interface Push { state: string; site: string; events: number; hub?: string; sent: number; received: number; ms: number; reason?: string }

function pushOf(r: Run): Push {
  const doc = JSON.parse(ok(r, 'command').stdout) as { push?: Push };
  assert.ok(doc.push, `no push in ${r.stdout}`);
  return doc.push;
}

/** Nothing the desk printed holds the operator's password. */
function noPassword(site: DeskSite, ...runs: Run[]): void {
  const password = (JSON.parse(readFileSync(join(site.desk, 'site-link.json'), 'utf8')) as { password: string }).password;
  for (const r of runs) assert.ok(!r.stdout.includes(password) && !r.stderr.includes(password), 'the password was printed');
}

describe('the staff desk as a peer of the site', () => {
  let site: DeskSite;
  before(async () => { site = await buildSite({ tls: true }); });
  after(async () => { await site?.dispose(); });

  it('site connect recorded the broker, the account and the CA; node approve NAME took the requests from the site and enrolled both nodes', async () => {
    const link = JSON.parse(readFileSync(join(site.desk, 'site-link.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(link['broker'], site.url);
    assert.equal(link['name'], OPERATOR);
    assert.equal(link['ca_file'], 'site-link-ca.crt');
    assert.equal(statSync(join(site.desk, 'site-link.json')).mode & 0o777, 0o600);
    assert.deepEqual(readFileSync(join(site.desk, 'site-link-ca.crt')), readFileSync(join(site.desk, 'ca.crt')));
    const nodes = JSON.parse(ok(await site.cli(['node', 'list', '--json']), 'node list').stdout) as Array<{ name: string; state: string }>;
    assert.deepEqual(nodes.filter((n) => n.state === 'enrolled').map((n) => n.name).sort(), ['front-door', 'hub']);
    const door = (await site.door.get('/status')).json() as { enrolment: { enrolled: boolean }; sync: { state: string } };
    assert.equal(door.enrolment.enrolled, true);
    const shown = await site.cli(['site']);
    assert.match(ok(shown, 'gdo site').stdout, new RegExp(`^connected +${site.url.replace(/[.]/g, '\\.')} as ${OPERATOR}$`, 'm'));
  });

  it('a member and badge added at the desk open the door; a suspension is in force at the door as the command returns', async () => {
    const steps = [
      ['door', 'add', 'front', '--name', 'Front door', '--node', 'front-door', '--rule', 'members'],
      ['member', 'add', 'alice', '--name', 'Alice', '--groups', 'members'],
    ];
    for (const s of steps) {
      const r = await site.cli(s);
      ok(r, s.join(' '));
      assert.match(r.stderr, /^gdo: sending 1 event to the site \(mqtts:\/\/127\.0\.0\.1:\d+\) \.\.\.$/m);
      assert.match(r.stderr, /^gdo: hub has it \(\d+\.\d s/m);
    }
    // The card UID from standard input, as a USB desk reader types it.
    const assign = await site.cli(['badge', 'assign', '--member', 'alice', '--uid', '-', '--json'], { input: `${ALICE_UID}\n` });
    const p = pushOf(assign);
    assert.equal(p.state, 'delivered');
    assert.equal(p.hub, 'hub');
    assert.equal(p.events, 1);
    assert.ok(!assign.stdout.includes(ALICE_UID.replace(/:/g, '')) && !assign.stderr.includes(ALICE_UID), 'the UID was printed');
    const granted = await site.badge(ALICE_UID);
    assert.deepEqual([granted.allow, granted.resource], [true, 'door:front']);

    const suspend = await site.cli(['member', 'suspend', 'alice', '--reason', 'dues', '--json']);
    const returned = Date.now();
    assert.equal(pushOf(suspend).state, 'delivered');
    const denied = await site.badge(ALICE_UID);
    assert.deepEqual([denied.allow, denied.reason], [false, 'member_suspended']);
    assert.ok(denied.at - returned < 2000, `the door denied ${denied.at - returned} ms after the command returned`);
    noPassword(site, assign, suspend);
  });

  it('gdo sync reconciles both ways and reports it: the door\'s access records come back, the state hash is the hub\'s', async () => {
    const r = await site.cli(['sync', '--json']);
    const rep = JSON.parse(ok(r, 'gdo sync').stdout) as {
      peer: string; confirmed: boolean; sent: number; received: number; events_before: number; events: number; state_hash: string; heads: string[];
      others: Array<{ peer: string; confirmed: boolean }>;
    };
    assert.equal(rep.peer, 'hub');
    assert.equal(rep.confirmed, true);
    assert.equal(rep.sent, 0, 'the hub had everything of the desk already');
    // The door's decisions (the push of the suspension may have brought the first one already).
    assert.ok(rep.received >= 1, `the door's decisions come back, got ${rep.received}`);
    assert.equal(rep.events, rep.events_before + rep.received);
    assert.deepEqual(rep.others.map((o) => [o.peer, o.confirmed]), [['front-door', true]]);
    const hub = (await site.hub.get('/status')).json() as { ledger: { state_hash: string } };
    assert.equal(rep.state_hash, hub.ledger.state_hash);
    const log = ok(await site.cli(['access', 'log', '--json']), 'access log').stdout;
    assert.match(log, /member_suspended/);
    const text = ok(await site.cli(['sync']), 'gdo sync').stdout;
    assert.match(text, /^in sync with hub at mqtts:\/\/127\.0\.0\.1:\d+: sent 0 events, received \d+ events? \(1 session\)$/m);
    assert.match(text, /^state hash +[0-9a-f]{64}$/m);
  });

  it('with the hub down a command says it is offline and exits 0; the change is kept and a later gdo sync delivers it to the hub and the door', async () => {
    await site.stopHub();
    const r = await site.cli(['member', 'reinstate', 'alice', '--push-wait', '2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /reinstated|alice/);
    assert.match(r.stderr, /^gdo: offline: .*; the change is signed and kept in .+; gdo sync \(or the next staff command\) sends it$/m);
    const j = await site.cli(['member', 'update', 'alice', '--email', 'alice@example.org', '--push-wait', '1', '--json']);
    assert.equal(pushOf(j).state, 'offline');
    // Signed and kept: the desk's ledger has both, the door still refuses Alice.
    const shown = JSON.parse(ok(await site.cli(['member', 'show', 'alice', '--json']), 'member show').stdout) as Record<string, unknown>;
    assert.equal(JSON.stringify(shown).includes('"suspended":true'), false);
    assert.equal((await site.badge(ALICE_UID)).allow, false);
    const down = await site.cli(['sync', '--wait', '1']);
    assert.equal(down.code, 1);
    assert.match(down.stderr, /^gdo: SITE_(UNREACHABLE|TIMEOUT): (cannot reach|no answer from) the site's broker/m);
    const downJson = await site.cli(['sync', '--wait', '1', '--json']);
    assert.equal(downJson.code, 1, 'the same exit code with --json');
    const doc = JSON.parse(downJson.stdout) as { error: { code: string; message: string }; exit: number };
    assert.match(doc.error.code, /^SITE_(UNREACHABLE|TIMEOUT)$/);
    assert.equal(doc.exit, 1);

    await site.startHub();
    let rep: { confirmed: boolean; sent: number; others: Array<{ peer: string; sent: number }> } | undefined;
    await waitFor(async () => {
      const s = await site.cli(['sync', '--json', '--wait', '5']);
      if (s.code !== 0) return false;
      rep = JSON.parse(s.stdout) as typeof rep;
      // The door must be back on the broker too, for the desk to hand it the changes directly.
      return rep!.others.some((o) => o.peer === 'front-door');
    }, 'gdo sync with the hub and the door back', 60_000);
    assert.equal(rep!.confirmed, true);
    await waitFor(async () => (await site.badge(ALICE_UID)).allow, 'the door to let Alice in again', 5000);
  });

  it('site connect refuses a wrong password, a CA that did not sign the broker, a name the certificate is not for and an unreachable broker, each in its own words, and records nothing', async () => {
    const before = readFileSync(join(site.desk, 'site-link.json'));
    const wrongPass = join(site.root, 'wrong.pass');
    writeFileSync(wrongPass, 'not the password\n', { mode: 0o600 });
    const port = Number(new URL(site.url).port);
    const otherCa = join(site.root, 'other-ca');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${otherCa}.key`, '-out', `${otherCa}.crt`, '-days', '2', '-subj', '/CN=Someone else CA'], { stdio: 'ignore' });
    const ca = join(site.desk, 'ca.crt');
    const cases: Array<[string, string[], RegExp]> = [
      ['bad password', ['--broker', site.url, '--ca', ca, '--password-file', wrongPass], /refused the password of operator 'office'/],
      ['unknown operator', ['--broker', site.url, '--ca', ca, '--name', 'someone'], /let 'someone' log in, then closed the connection: is 'someone' in the hub's sync\.broker_operators/],
      ['wrong CA', ['--broker', site.url, '--ca', `${otherCa}.crt`], /its certificate is not signed by the CA given/],
      ['wrong name', ['--broker', `mqtts://localhost:${port}`, '--ca', ca], /its certificate is not for this host name/],
      ['unreachable', ['--broker', `mqtts://127.0.0.1:${await freePort()}`, '--ca', ca, '--timeout', '1'], /cannot reach the site's broker at mqtts:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\); nothing recorded \(--offline records it without trying\)/],
    ];
    for (const [what, args, re] of cases) {
      const withName = args.includes('--name') ? args : [...args, '--name', OPERATOR];
      const r = await site.cli(['site', 'connect', ...withName]);
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      const lines = r.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, `${what}: ${r.stderr}`);
      assert.match(lines[0]!, re, what);
      assert.match(lines[0]!, /nothing recorded/);
      assert.equal(r.stdout, '');
      assert.ok(!r.stderr.includes('not the password'), 'the password was echoed');
      assert.deepEqual(readFileSync(join(site.desk, 'site-link.json')), before, `${what}: the link changed`);
    }
    const bad = await site.cli(['site', 'connect', '--broker', 'mqtt://192.0.2.1:1883', '--name', OPERATOR]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /plain MQTT to 192\.0\.2\.1, which crosses a network; use mqtts:\/\/ \(with --ca\) or pass --allow-plain/);
    const notPem = await site.cli(['site', 'connect', '--broker', site.url, '--name', OPERATOR, '--ca', wrongPass]);
    assert.equal(notPem.code, 2);
    assert.match(notPem.stderr, /--ca .*wrong\.pass holds no PEM certificate/);
  });

  it('gdo sync --watch stays a live peer: what the door records arrives as it happens; Ctrl-C stops it in order', async () => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'agent/cli/main.ts'), 'sync', '--watch', '--json', '--data', site.desk], {
      cwd: ROOT, env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    p.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const exited = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
    try {
      await waitFor(() => /watching the site/.test(err), 'the watch to start', 60_000);
      const first = JSON.parse(out.split('\n')[0]!) as { confirmed: boolean; peer: string };
      assert.deepEqual([first.confirmed, first.peer], [true, 'hub']);
      const hubSees = async (): Promise<boolean | undefined> => ((await site.hub.get('/status')).json() as { sync: { peers: Array<{ name: string; connected?: boolean }> } })
        .sync.peers.find((x) => x.name === OPERATOR)?.connected;
      assert.equal(await hubSees(), true, 'the hub sees the desk online');
      await site.badge(ALICE_UID);
      await waitFor(() => out.split('\n').slice(1).some((l) => l !== '' && (JSON.parse(l) as { received: number }).received > 0), 'the door\'s decision to arrive at the desk', 15_000);
      p.kill('SIGINT');
      assert.equal(await exited, 0, err);
      assert.match(err, /^gdo: stopping$/m);
      await waitFor(async () => (await hubSees()) === false, 'the hub to see the desk go', 10_000);
    } finally {
      p.kill('SIGKILL');
    }
  });

  it('site disconnect forgets the link; staff commands then sign locally only', async () => {
    const r = await site.cli(['site', 'disconnect']);
    assert.match(ok(r, 'site disconnect').stdout, /^disconnected .* from mqtts:\/\/127\.0\.0\.1:\d+/);
    assert.equal(existsSync(join(site.desk, 'site-link.json')), false);
    assert.equal(existsSync(join(site.desk, 'site-link-ca.crt')), false);
    const local = await site.cli(['member', 'add', 'bob', '--name', 'Bob', '--json']);
    assert.equal((JSON.parse(ok(local, 'member add').stdout) as { push?: unknown }).push, undefined);
    assert.equal(local.stderr, '');
    const sync = await site.cli(['sync']);
    assert.equal(sync.code, 2);
    assert.match(sync.stderr, /is not connected to a site: gdo site connect --broker URL --name NAME first/);
  });

  it('without a connected site, node approve NAME --broker URL with an operator account delivers the approval too', async () => {
    const side = await site.addDoor('side-door');
    await side.waitForLog((l) => l['part'] === 'enrolment' && /^enrolment request published/.test(l.msg), 'its request published', 30_000);
    const pass = join(site.root, 'office.pass');
    writeFileSync(pass, ok(await site.cli(['broker', 'password', '--secret-file', join(site.desk, 'broker.secret'), '--name', OPERATOR]), 'broker password').stdout, { mode: 0o600 });
    const r = await site.cli(['node', 'approve', 'side-door', '--broker', site.url, '--broker-user', OPERATOR, '--broker-pass-file', pass, '--broker-ca', join(site.desk, 'ca.crt'), '--json']);
    assert.equal(pushOf(r).state, 'delivered');
    await waitFor(async () => ((await side.get('/status')).json() as { enrolment: { enrolled: boolean } }).enrolment.enrolled, 'side-door enrolled', 30_000);
  });
});
