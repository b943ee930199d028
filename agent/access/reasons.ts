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

/**
 * Why a certification at the machine was refused (agent/access/certify-check.ts): the decision reasons
 * above where a trainee fails like a badge does, and these, from the machine dapp's rules.
 */
export const CERTIFY_REASONS = {
  ...REASONS,
  not_trainer: 'the trainer no longer holds the trainer role',
  no_trainer: 'no trainer named',
  not_authorized: 'this node may not certify on this machine',
  self_certification: 'a trainer may not certify themselves',
  certificate_changed: 'the certificate changed meanwhile',
  invalid_certification: 'the certification is malformed',
  certification_unavailable: 'certifications cannot be checked on this node',
  access_unavailable: 'the access service is not running',
  decider_error: 'the certification could not be checked',
  ledger_fault: 'ledger fault',
} as const;

export type ReasonCode = keyof typeof REASONS;
