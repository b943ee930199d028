// Amplification against a door as its own process over a real Mosquitto (issue 13 item 6): a peer
// publishes 1 MiB EVENTS messages of zero-length events and floods 13-byte REQUESTs that name the
// whole ledger. The door refuses the first at its decoder (its memory stays put), answers the
// second at most its byte budgets (then a Busy NACK), and grants a member's badge throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { badgeHash } from '../../agent/access/badge-hash.ts';
import { MsgType, NackCode, decodeMessage, encodeRequest } from '../../agent/sync/messages.ts';
import { encodeVarint } from '../../agent/sync/rbsr/varint.ts';
import { Reconciler } from '../../agent/sync/rbsr/reconciler.ts';
import { MemoryItemSource } from '../../agent/sync/rbsr/memory-source.ts';
import { Topics } from '../../agent/sync/topics.ts';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { OrgFixture, closeClient, tempDir, waitForAsync } from './helpers.ts';
import { Peer } from './peer-control.ts';

const DOOR = 'door:front';
const ANSWER_PER_REQUEST = 128 * 1024;
const ANSWER_RATE = 64 * 1024;
const ANSWER_BURST = 256 * 1024;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

void test('a door process under amplification over real Mosquitto: zero-length events refused unread, answers cut at their budget, badges still granted', { timeout: 180_000 }, async () => {
  const broker = await startMosquitto();
  const t = tempDir();
  let door: Peer | undefined;
  let evil: mqtt.MqttClient | undefined;
  try {
    const f = new OrgFixture(['door', 'writer']);
    const org = f.org.toString('hex');
    door = new Peer('door', {
      db: join(t.dir, 'door.db'), url: broker.url, org, name: 'door', dapps: ['agent/dapps.ts#allDapps', 'test:note'],
      // Small budgets, so that a ledger of a few thousand events is many answers' worth.
      sync: { limits: { maxAnswerBytes: ANSWER_PER_REQUEST, peer: { answerBytesPerSec: ANSWER_RATE, answerByteBurst: ANSWER_BURST } } },
    });
    // Fewer than settleMax (2048): one empty id list is answered with every event (1.14).
    const notes = f.notes('writer', 1500).map((e) => e.raw);
    await door.ingest(f.genesis);
    for (let i = 0; i < notes.length; i += 500) await door.ingest(notes.slice(i, i + 500));
    const siteSecret = randomBytes(32);
    const uid = Buffer.from('04a2193c5d6e80', 'hex');
    await door.staff('admin', 'addMember', { id: 'alice', name: 'Alice', groups: ['members'] });
    await door.staff('admin', 'assignBadge', badgeHash(siteSecret, uid), 'alice');
    await door.staff('admin', 'addDoor', { id: 'front', name: 'Front door', node: 'door', rules: [{ group: 'members' }] });
    const ledgerBytes = notes.reduce((n, r) => n + r.length, 0);
    await waitForAsync('the door is connected', async () => (await door!.state()).sync.connected);
    const first = await door.badge('door', siteSecret, uid, DOOR);
    assert.equal(first.allow, true);

    // Badges read at the door all along; every decision must grant.
    const decisions: boolean[] = [];
    let reading = true;
    const reader = (async () => {
      while (reading) {
        decisions.push((await door!.badge('door', siteSecret, uid, DOOR)).allow);
        await sleep(100);
      }
    })();
    const samples: number[] = [];
    const sampler = setInterval(() => { try { samples.push(rssMb(door!.pid)); } catch { /* exited */ } }, 50);

    try {
      await sleep(500);
      const idle = rssMb(door.pid);
      const tp = new Topics(org);
      evil = await mqtt.connectAsync(broker.url, { reconnectPeriod: 0 });
      const answers: Buffer[] = [];
      await evil.subscribeAsync(tp.direct('door', 'evil'), { qos: 1 });
      evil.on('message', (_t, p) => answers.push(p));

      // 1. Five 1 MiB EVENTS messages of 1,048,000 zero-length events each.
      const rejectedBefore = (await door.state()).sync.counters.rejected;
      const n = 1_048_000;
      const zeros = Buffer.concat([Buffer.from([1, MsgType.Events, 0, 0, 0, 0, 0]), encodeVarint(n), Buffer.alloc(n)]);
      for (let i = 0; i < 5; i++) {
        zeros[2] = i + 1; // a different session each time, so no copy is dropped as a replay
        await evil.publishAsync(tp.events('evil'), Buffer.from(zeros), { qos: 1 });
      }
      await waitForAsync('the door dealt with all five', async () => (await door!.state()).sync.counters.rejected >= rejectedBefore + 5, 60_000);
      await sleep(2000);
      const peak1 = Math.max(...samples);
      assert.ok(peak1 - idle < 50, `door RSS ${idle.toFixed(0)} MB idle, ${peak1.toFixed(0)} MB at peak under five 1 MiB messages of empty events`);
      assert.equal((await door.state()).pending, 0, 'nothing of it was kept');

      // 2. 13-byte REQUESTs (an empty id list over the whole range) naming every event the door holds.
      const frame = new Reconciler(new MemoryItemSource(), { frameSizeLimit: 64 * 1024 }).initiate();
      const request = (session: number): Buffer => encodeRequest(session, frame, []);
      assert.ok(request(1).length <= 16, `a request of ${request(1).length} bytes`);
      const start = Date.now();
      for (let i = 0; i < 40; i++) {
        await evil.publishAsync(tp.direct('evil', 'door'), request(1000 + i), { qos: 1 });
        await sleep(100);
      }
      // Until the door has answered every request (each answer ends with a RESPONSE or a NACK).
      const ends = (): number => answers.filter((p) => p[1] === MsgType.Response || p[1] === MsgType.Nack).length;
      await waitForAsync('every request answered', () => Promise.resolve(ends() >= 40), 60_000);
      const elapsed = (Date.now() - start) / 1000;
      let eventBytes = 0;
      let cut = 0;
      for (const p of answers) {
        const m = decodeMessage(p);
        if (m.type === 'events') eventBytes += m.events.reduce((k, e) => k + e.length, 0);
        if (m.type === 'nack' && m.code === NackCode.Busy) cut++;
      }
      const bound = ANSWER_BURST + ANSWER_RATE * elapsed;
      assert.ok(eventBytes <= bound, `answered ${eventBytes} event bytes to 40 requests of ${request(1).length} bytes in ${elapsed.toFixed(1)} s; the bucket allows ${bound.toFixed(0)} (the ledger holds ${ledgerBytes})`);
      assert.ok(cut >= 30, `${cut} answers cut with a Busy NACK`);
      const peak = Math.max(...samples);
      assert.ok(peak - idle < 50, `door RSS ${idle.toFixed(0)} MB idle, ${peak.toFixed(0)} MB at peak`);
    } finally {
      reading = false;
      await reader;
      clearInterval(sampler);
    }
    assert.ok(decisions.length >= 10, `${decisions.length} decisions during the attacks`);
    assert.ok(decisions.every((d) => d), 'every badge read during the attacks granted Alice');
    assert.equal((await door.badge('door', siteSecret, uid, DOOR)).allow, true);
  } finally {
    if (evil) await closeClient(evil);
    if (door) await door.stop();
    await broker.stop();
    t.cleanup();
  }
});
