// Per-peer admission (docs/sync-protocol.md 7) on a fake clock: buckets refill at their rate,
// strikes mute a peer for muteMs and decay, the peer table stays bounded, replays are caught.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_PEER_LIMITS, PeerGuard, RecentSet } from '../../agent/sync/rate-limit.ts';

function guard(over: Partial<typeof DEFAULT_PEER_LIMITS> = {}): { g: PeerGuard; clock: { t: number } } {
  const clock = { t: 1_000_000 };
  return { g: new PeerGuard({ ...DEFAULT_PEER_LIMITS, ...over }, () => clock.t), clock };
}

void test('message and byte buckets: a burst, then the refill rate', () => {
  const { g, clock } = guard({ messageBurst: 5, messagesPerSec: 2, byteBurst: 1000, bytesPerSec: 100 });
  for (let i = 0; i < 5; i++) assert.equal(g.admit('a', 10), 'ok');
  assert.equal(g.admit('a', 10), 'rate');
  assert.equal(g.admit('b', 10), 'ok', 'peers have their own buckets');
  clock.t += 1000;
  assert.equal(g.admit('a', 10), 'ok');
  assert.equal(g.admit('a', 10), 'ok');
  assert.equal(g.admit('a', 10), 'rate');
  clock.t += 10_000;
  assert.equal(g.admit('a', 2000), 'rate', 'more bytes than the burst never pass');
});

void test('strikes mute a peer for muteMs; strikes decay', () => {
  const { g, clock } = guard({ strikeLimit: 3, strikeDecayMs: 1000, muteMs: 5000 });
  assert.equal(g.strike('x'), false);
  assert.equal(g.strike('x'), false);
  clock.t += 2500; // two strikes decayed
  assert.equal(g.strike('x'), false);
  assert.equal(g.strike('x'), false);
  assert.equal(g.strike('x'), true, 'third strike in a row mutes');
  assert.equal(g.isMuted('x'), true);
  assert.equal(g.admit('x', 1), 'muted');
  clock.t += 5001;
  assert.equal(g.isMuted('x'), false);
  assert.equal(g.admit('x', 1), 'ok');
  assert.equal(g.strike('y', 3), true, 'a heavy strike (an oversized payload) counts more');
});

void test('requests have their own bucket; the peer table is bounded', () => {
  const { g } = guard({ requestBurst: 2, requestsPerSec: 1, maxPeers: 3 });
  assert.equal(g.admitRequest('a'), true);
  assert.equal(g.admitRequest('a'), true);
  assert.equal(g.admitRequest('a'), false);
  g.strike('a', 100);
  assert.equal(g.isMuted('a'), true);
  for (const p of ['b', 'c', 'd']) g.admit(p, 1);
  assert.equal(g.isMuted('a'), false, 'the least recently seen peer was forgotten');
});

void test('RecentSet remembers the last N keys', () => {
  const r = new RecentSet(2);
  assert.equal(r.checkAndAdd('a'), false);
  assert.equal(r.checkAndAdd('a'), true);
  r.checkAndAdd('b');
  r.checkAndAdd('c');
  assert.equal(r.checkAndAdd('a'), false, 'evicted');
});
