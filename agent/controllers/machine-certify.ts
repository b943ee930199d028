// The trainee check a machine runs before it signs a certification: the decider's checkCertification, which
// applies the machine dapp's own certify rules to the body the node would sign (agent/access/certify-check.ts),
// so the machine never shows CERTIFIED for what the ledger would refuse.
import type { AccessDecider, CertificationVerdict } from './types.ts';

/** The last certification tried at a machine (its /status): who, and whether it was signed or why not. */
export interface LastCertification {
  at: string;
  trainer_id: string;
  member_id: string;
  certified: boolean;
  reason?: string;
  detail?: string;
}

export interface TraineeCheck {
  resource: string;
  trainerId: string;
  memberId: string;
  credential: Buffer;
  at: Date;
}

/** The verdict, or a refusal naming why no verdict could be had (never a certification by default). */
export function checkTrainee(decider: AccessDecider, req: TraineeCheck, onError: (err: unknown) => void): CertificationVerdict {
  const check = decider.checkCertification;
  if (!check) return { ok: false, reason: 'certification_unavailable', detail: 'this node cannot check certifications' };
  try {
    return check.call(decider, req);
  } catch (err) {
    onError(err);
    return { ok: false, reason: 'decider_error', detail: 'the certification could not be checked' };
  }
}
