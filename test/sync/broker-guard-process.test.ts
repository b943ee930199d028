// Attacks on a hub agent process's embedded broker over TLS (docs/sync-protocol.md 6.7), with the hub's
// RSS read from /proc: anonymous clients announcing huge CONNECTs are cut at the fixed header with bounded
// memory; idle connections that never log in are capped per address and cut at the login timeout while
// enrolled nodes still get in; an account using another account's live client id is refused and the first
// connection stays; retained messages are kept only on a node's presence and enrolment topics, bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { act } from '../../agent/access/staff.ts';
import { allDapps } from '../../agent/dapps.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { derivePassword } from '../../agent/sync/broker-auth.ts';
import { DEFAULT_GUARD_LIMITS } from '../../agent/sync/mqtt-guard.ts';
import { Topics } from '../../agent/sync/topics.ts';
import { spawnAgent, tempDir, writeJson, type AgentProcess } from '../daemon/helpers.ts';
import { signerFor } from '../ledger/helpers.ts';
import { closeClient as close } from './helpers.ts';
import { verifyAs, writeBrokerTls } from '../tls/helpers.ts';
import type { SiteCa } from '../../agent/enrol/site-ca.ts';

const keyOf = (name: string): string => signerFor(name).publicKey.toString('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `p`, or an error naming what did not happen within `ms`. */
async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<never>((_r, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms); })]);
  } finally { clearTimeout(timer); }
}

interface Hub { hub: AgentProcess; url: string; port: number; org: string; pw(n: string): string; ca: SiteCa; dispose(): Promise<void> }

async function startHub(): Promise<Hub> {
  const t = tempDir('gdo-broker-guard-');
  const hubDir = join(t.dir, 'hub');
  mkdirSync(hubDir);
  const admin = signerFor('admin');
  const ledger = Ledger.open({ path: join(hubDir, 'ledger.db'), dapps: allDapps });
  const g = act(ledger, admin, 'org', 'genesis', { name: 'Guard Space', admins: [{ key: admin.publicKey.toString('hex'), name: 'Ada' }] });
  act(ledger, admin, 'org', 'node.add', { key: keyOf('hub'), name: 'hub', roles: ['hub'] });
  for (const n of ['door-a', 'door-b']) act(ledger, admin, 'org', 'node.add', { key: keyOf(n), name: n, roles: ['door'] });
  ledger.close();
  const org = g.id.toString('hex');
  const secret = randomBytes(32);
  writeFileSync(join(hubDir, 'broker.secret'), `${secret.toString('hex')}\n`, { mode: 0o600 });
  const ca = writeBrokerTls(hubDir);
  const config = writeJson(`${hubDir}.json`, {
    node: { name: 'hub', roles: ['hub'] }, org, state_dir: hubDir,
    sync: { broker: 'embedded', embedded_listen: '127.0.0.1:0', ca_file: 'ca.crt' }, http: { listen: '127.0.0.1:0' },
  });
  const hub = spawnAgent(config);
  const listening = await hub.waitForLog((l) => /^embedded broker listening on /.test(l.msg), 'the embedded broker');
  const port = Number(/:(\d+)$/.exec(String(listening['listen']))![1]);
  return {
    hub, port, org, ca, url: `mqtts://127.0.0.1:${port}`, pw: (n) => derivePassword(secret, org, n),
    async dispose() { await hub.stop(); t.dispose(); },
  };
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) / 1024;
}

/** Samples the RSS every 50 ms while `fn` runs; the highest seen. */
async function peakRss(pid: number, fn: () => Promise<void>): Promise<number> {
  let peak = rssMb(pid);
  const timer = setInterval(() => { try { peak = Math.max(peak, rssMb(pid)); } catch { /* exited */ } }, 50);
  try { await fn(); } finally { clearInterval(timer); }
  return Math.max(peak, rssMb(pid));
}

function connectMqtt(h: Hub, user: string, extra: mqtt.IClientOptions = {}): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(h.url, { reconnectPeriod: 0, connectTimeout: 5000, ...verifyAs(h.ca), username: user, password: h.pw(user), ...extra }, false);
}

/** The MQTT Remaining Length encoding (MQTT 3.1.1 §2.2.3). */
function remainingLength(n: number): Buffer {
  const out: number[] = [];
  do { let b = n % 128; n = Math.floor(n / 128); if (n > 0) b |= 0x80; out.push(b); } while (n > 0);
  return Buffer.from(out);
}

/** Opens a TLS connection, announces a CONNECT of `announced` bytes and sends up to `send` of it; the bytes it got to write. */
function oversizedConnect(h: Hub, announced: number, send: number): Promise<{ written: number; cut: boolean }> {
  return new Promise((resolve) => {
    const s = tlsConnect({ host: '127.0.0.1', port: h.port, ...verifyAs(h.ca) });
    let written = 0;
    let cut = false;
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    const finish = (): void => { s.destroy(); resolve({ written, cut }); };
    s.once('close', () => { cut = true; finish(); });
    s.on('error', () => { cut = true; });
    s.once('secureConnect', () => {
      s.write(Buffer.concat([Buffer.from([0x10]), remainingLength(announced)]));
      const pump = (): void => {
        while (!s.destroyed && written < send) {
          written += chunk.length;
          if (!s.write(chunk)) { s.once('drain', pump); return; }
        }
        // All sent without being cut: give the hub a moment to cut it.
        if (!s.destroyed) setTimeout(finish, 2000);
      };
      pump();
    });
  });
}

function isOpen(s: Socket): boolean { return !s.destroyed && !s.closed; }

void test('hub agent, embedded broker: oversized CONNECTs cut at the header with bounded RSS; idle pre-login connections capped and timed out; nodes still get in', { timeout: 120_000 }, async () => {
  const h = await startHub();
  const held: Socket[] = [];
  const clients: mqtt.MqttClient[] = [];
  try {
    const pid = h.hub.proc.pid!;
    // A warm broker first: a node logs in and out, so what follows measures the attack, not first use.
    await close(await connectMqtt(h, 'door-a'));
    await sleep(300);
    const idle = rssMb(pid);

    // Five anonymous CONNECTs announcing 200 MB each, each trying to send 40 MB of it.
    const results: Array<{ written: number; cut: boolean }> = [];
    const peak = await peakRss(pid, async () => {
      results.push(...await Promise.all(Array.from({ length: 5 }, () => oversizedConnect(h, 200 * 1024 * 1024, 40 * 1024 * 1024))));
    });
    for (const r of results) {
      assert.ok(r.cut, 'the hub cut the connection');
      assert.ok(r.written < 40 * 1024 * 1024, `cut before the client could send it all (wrote ${r.written} bytes)`);
    }
    assert.ok(peak - idle < 50, `hub RSS ${idle.toFixed(0)} MB idle, ${peak.toFixed(0)} MB at the peak of the attack`);

    // A CONNECT just over the pre-login bound is cut too, though it is small.
    const small = await oversizedConnect(h, DEFAULT_GUARD_LIMITS.maxConnectBytes + 1, 0);
    assert.ok(small.cut, 'a CONNECT over maxConnectBytes is cut');

    // 40 idle TCP connections from one address that never log in: the per-address bound keeps 16.
    for (let i = 0; i < 40; i++) {
      const s = tcpConnect({ host: '127.0.0.1', port: h.port, localAddress: '127.0.0.2' });
      s.on('error', () => undefined);
      held.push(s);
    }
    await Promise.all(held.map((s) => new Promise<void>((r) => { s.once('connect', () => r()); s.once('close', () => r()); })));
    await sleep(500);
    const open = held.filter(isOpen).length;
    assert.equal(open, DEFAULT_GUARD_LIMITS.maxPendingPerAddress, `idle connections left open from one address: ${open}`);

    // While they are held, enrolled nodes log in and work.
    const a = await connectMqtt(h, 'door-a');
    clients.push(a);
    await a.publishAsync(new Topics(h.org).events('door-a'), 'still here', { qos: 1 });

    // The login timeout cuts the rest.
    const t0 = Date.now();
    while (held.some(isOpen) && Date.now() - t0 < DEFAULT_GUARD_LIMITS.connectTimeoutMs + 5000) await sleep(200);
    assert.equal(held.filter(isOpen).length, 0, 'connections that never log in are cut at the login timeout');
    assert.ok(a.connected, 'the node that logged in stays connected');
  } finally {
    for (const s of held) s.destroy();
    for (const c of clients) await close(c);
    await h.dispose();
  }
});

void test('hub agent, embedded broker: another account cannot take over a client id; retained messages only on presence and enrolment, bounded', { timeout: 120_000 }, async () => {
  const h = await startHub();
  const clients: mqtt.MqttClient[] = [];
  const tp = new Topics(h.org);
  try {
    // Client-id takeover: door-b presents door-a's live client id.
    const a = await connectMqtt(h, 'door-a', { clientId: 'gdo-door-a-cafe01' });
    clients.push(a);
    let aClosed = false;
    a.on('close', () => { aClosed = true; });
    await assert.rejects(connectMqtt(h, 'door-b', { clientId: 'gdo-door-a-cafe01' }), /Identifier rejected/i, "door-b with door-a's client id");
    await sleep(300);
    assert.equal(aClosed, false, 'door-a stays connected');
    await a.publishAsync(tp.events('door-a'), 'after the attempt', { qos: 1 });
    // The same account reconnecting under its id takes its own connection over, as MQTT has it.
    const a2 = await connectMqtt(h, 'door-a', { clientId: 'gdo-door-a-cafe01' });
    clients.push(a2);
    await sleep(300);
    assert.equal(aClosed, true, "door-a's reconnect replaced its old connection");

    // Retained fill: door-a retains 60 x 1 MiB under its own topics.
    const pid = h.hub.proc.pid!;
    await sleep(300);
    const idle = rssMb(pid);
    const mib = Buffer.alloc(1024 * 1024, 0x62);
    const peak = await peakRss(pid, async () => {
      for (let i = 0; i < 60; i++) await within(a2.publishAsync(tp.direct('door-a', `peer-${i}`), mib, { qos: 1, retain: true }), 20_000, `retained publish ${i}`);
      await within(a2.publishAsync(tp.events('door-a'), mib, { qos: 1, retain: true }), 20_000, 'retained publish on events');
    });
    await sleep(500);
    const after = rssMb(pid);
    assert.ok(Math.max(peak, after) - idle < 50, `hub RSS ${idle.toFixed(0)} MB before, ${peak.toFixed(0)} MB peak, ${after.toFixed(0)} MB after 61 retained MiB`);

    // The presence status is still retained (what the protocol needs); the events message was delivered unretained.
    await a2.publishAsync(tp.status('door-a'), 'presence', { qos: 1, retain: true });
    const b = await connectMqtt(h, 'door-b');
    clients.push(b);
    const got: string[] = [];
    b.on('message', (topic, payload, packet) => { got.push(`${topic} ${packet.retain ? 'retained' : 'live'} ${payload.length}`); });
    await b.subscribeAsync([tp.status('door-a'), tp.events('door-a')], { qos: 1 });
    await sleep(500);
    assert.deepEqual(got, [`${tp.status('door-a')} retained 8`], 'only the presence is retained');

    // A retained presence over the bound is refused and the last good one stays.
    const dropped = new Promise<void>((r) => { a2.once('close', () => r()); });
    a2.publish(tp.status('door-a'), Buffer.alloc(64 * 1024 + 1, 0x63), { qos: 1, retain: true });
    await within(dropped, 20_000, 'the broker drops the client with an oversized retained presence');
    const c = await connectMqtt(h, 'door-b', { clientId: 'gdo-door-b-check' });
    clients.push(c);
    const again: string[] = [];
    c.on('message', (topic, payload) => { again.push(`${topic} ${payload.toString()}`); });
    await c.subscribeAsync(tp.status('door-a'), { qos: 1 });
    await sleep(500);
    assert.deepEqual(again, [`${tp.status('door-a')} presence`]);
  } finally {
    for (const cl of clients) await within(close(cl), 10_000, 'client close').catch(() => { cl.end(true); });
    await h.dispose();
  }
});
