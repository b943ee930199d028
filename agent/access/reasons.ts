// Decision reasons: stable codes for logs, metrics and scripts, with the words staff see.
export const REASONS = {
  allowed: 'allowed',
  unknown_badge: 'unknown badge',
  badge_revoked: 'badge revoked',
  member_suspended: 'member suspended',
  membership_expired: 'membership expired',
  no_access: 'no access rule for this member',
  outside_schedule: 'outside schedule',
  lockdown: 'lockdown',
  not_certified: 'not certified',
  certification_expired: 'certification expired',
  out_of_service: 'machine out of service',
  node_not_enrolled: 'node not enrolled',
  offline_too_long: 'offline too long',
  clock_wrong: 'clock behind the ledger',
  unknown_resource: 'unknown door or machine',
} as const;

export type ReasonCode = keyof typeof REASONS;
