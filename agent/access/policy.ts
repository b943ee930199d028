// What a node does when it cannot trust its own view: offline for too long, or a clock that went
// backwards. Both default to "staff only": the people who can fix the node can still get in.
export type DegradedPolicy = 'deny_all' | 'staff_only' | 'allow_known';

export interface AccessPolicy {
  /** Longest time without contact with any peer before the offline policy applies; null = never. */
  maxOfflineMs: number | null;
  offline: DegradedPolicy;
  /** A clock more than this far behind what several keys' own clocks said is treated as wrong. */
  clockToleranceMs: number;
  /** Distinct other keys whose own clocks must agree that this one is behind (agent/access/clock-evidence.ts). */
  clockQuorum: number;
  clock: DegradedPolicy;
  /** Members of these groups are "staff" for the policies above and for lockdown exemptions by default. */
  staffGroups: string[];
}

export const DEFAULT_POLICY: AccessPolicy = {
  maxOfflineMs: 7 * 86_400_000,
  offline: 'staff_only',
  clockToleranceMs: 120_000,
  clockQuorum: 2,
  clock: 'staff_only',
  staffGroups: ['staff'],
};
