// An honest node catching up from a peer whose answers are cut at their byte budget
// (docs/sync-protocol.md 7, "Answers"): each cut session is followed by another once the peer's
// bucket has refilled a little, so it converges without waiting for the anti-entropy interval.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMosquitto } from '../helpers/mosquitto.ts';
import { OrgFixture, ingestAll, syncNode, tempDir, waitFor } from './helpers.ts';

void test('a catch-up cut at the responder\'s budget goes on session after session until level', { timeout: 90_000 }, async () => {
  const broker = await startMosquitto();
  const t = tempDir();
  const f = new OrgFixture(['full', 'fresh']);
  const full = t.ledger('full');
  const fresh = t.ledger('fresh');
  await ingestAll(full, [...f.genesis, ...f.notes('full', 1500).map((e) => e.raw)]);
  await ingestAll(fresh, f.genesis);
  const a = syncNode(full, broker.url, f.org, 'full', {
    autoSync: false, // only the fresh node leads sessions: what it gets, it gets as answers
    limits: { maxAnswerBytes: 48 * 1024, peer: { answerBytesPerSec: 128 * 1024, answerByteBurst: 64 * 1024 } },
  });
  // No anti-entropy round within the test: only the retries after a cut can finish the catch-up.
  const b = syncNode(fresh, broker.url, f.org, 'fresh', { syncIntervalMs: 600_000 });
  try {
    await a.start();
    await b.start();
    await waitFor('the fresh node holds everything', () => fresh.count() === full.count(), 60_000);
    assert.ok(b.status().counters.sessions >= 4, `${b.status().counters.sessions} sessions`);
    assert.equal(fresh.stateHash(), full.stateHash());
  } finally {
    await b.stop();
    await a.stop();
    await broker.stop();
    t.cleanup();
  }
});
