// Runs a whole session between two reconcilers in one process, counting rounds and bytes.
// The tests use it, and the sync layer's tests can use it as the reference outcome.
import { RbsrError } from './errors.ts';
import type { Reconciler } from './reconciler.ts';

export interface SessionStats {
  /** Round trips: one initiator frame plus the responder's reply. */
  rounds: number;
  /** Bytes of initiator frames. */
  bytesToResponder: number;
  /** Bytes of responder frames. */
  bytesToInitiator: number;
  /** Largest single frame, either direction. */
  largestFrame: number;
  have: Buffer[];
  need: Buffer[];
}

export function reconcileInProcess(initiator: Reconciler, responder: Reconciler, maxRounds = 10_000): SessionStats {
  const stats: SessionStats = { rounds: 0, bytesToResponder: 0, bytesToInitiator: 0, largestFrame: 0, have: [], need: [] };
  let frame: Buffer | undefined = initiator.initiate();
  while (frame) {
    if (++stats.rounds > maxRounds) throw new RbsrError('RBSR_STATE', `no convergence after ${maxRounds} rounds`);
    stats.bytesToResponder += frame.length;
    stats.largestFrame = Math.max(stats.largestFrame, frame.length);
    const answer = responder.reconcile(frame);
    const reply = answer.reply;
    if (!reply) throw new RbsrError('RBSR_STATE', 'responder produced no reply');
    stats.bytesToInitiator += reply.length;
    stats.largestFrame = Math.max(stats.largestFrame, reply.length);
    const step = initiator.reconcile(reply);
    stats.have.push(...step.have);
    stats.need.push(...step.need);
    frame = step.reply;
  }
  return stats;
}
