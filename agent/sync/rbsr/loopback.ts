// Runs a whole session between two reconcilers in one process, counting rounds and bytes.
// The tests use it, and the sync layer's tests can use it as the reference outcome.
import { RbsrError } from './errors.ts';
import type { Reconciler } from './reconciler.ts';
import { encodeVarint } from './varint.ts';

export interface SessionStats {
  /** Round trips: one initiator frame plus the responder's reply. */
  rounds: number;
  /** Bytes of initiator frames. */
  bytesToResponder: number;
  /** Bytes of responder frames (plus its need indexes, delta-coded, when it settles). */
  bytesToInitiator: number;
  /** Largest single frame, either direction. */
  largestFrame: number;
  /** Ids only the initiator holds, each once. */
  have: Buffer[];
  /** Ids only the responder holds, each once (with settlement: including those it would send unasked). */
  need: Buffer[];
}

/** Bytes of ascending indexes sent as varint deltas, as the MQTT layer does (sync-protocol.md 1.14). */
export function needIndexBytes(indexes: readonly number[]): number {
  let n = encodeVarint(indexes.length).length;
  let prev = -1;
  for (const i of indexes) {
    n += encodeVarint(i - prev - 1).length;
    prev = i;
  }
  return n;
}

export function reconcileInProcess(initiator: Reconciler, responder: Reconciler, maxRounds = 10_000): SessionStats {
  const stats: SessionStats = { rounds: 0, bytesToResponder: 0, bytesToInitiator: 0, largestFrame: 0, have: [], need: [] };
  const seen = new Set<string>();
  const add = (into: Buffer[], ids: readonly Buffer[]): void => {
    for (const id of ids) {
      const k = id.toString('hex');
      if (!seen.has(k)) {
        seen.add(k);
        into.push(id);
      }
    }
  };
  let frame: Buffer | undefined = initiator.initiate();
  while (frame) {
    if (++stats.rounds > maxRounds) throw new RbsrError('RBSR_STATE', `no convergence after ${maxRounds} rounds`);
    stats.bytesToResponder += frame.length;
    stats.largestFrame = Math.max(stats.largestFrame, frame.length);
    const answer = responder.reconcile(frame);
    const reply = answer.reply;
    if (!reply) throw new RbsrError('RBSR_STATE', 'responder produced no reply');
    // A settling responder reports what the initiator lacks (it sends those events unasked).
    add(stats.need, answer.have);
    const indexes = answer.needIndexes ?? [];
    stats.bytesToInitiator += reply.length + (answer.needIndexes ? needIndexBytes(indexes) : 0);
    stats.largestFrame = Math.max(stats.largestFrame, reply.length);
    const step = initiator.reconcile(reply, indexes);
    add(stats.have, step.have);
    add(stats.need, step.need);
    frame = step.reply;
  }
  return stats;
}
