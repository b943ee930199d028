// Typed errors for enrolment: bootstrap files, enrolment requests, sealed site secrets, approval and first
// boot. Codes are stable (scripts and tests match on them); messages name the bad value and what was expected.

export type EnrolErrorCode =
  | 'ENROL_BAD_REQUEST' // an enrolment request is not JSON or breaks the format (request.ts)
  | 'ENROL_BAD_SIGNATURE' // the request's signature does not verify with the key it names
  | 'ENROL_WRONG_ORG' // the request or bootstrap is for another organisation
  | 'ENROL_NOT_PROVISIONED' // no provisioning record for the node name in the admin's data directory
  | 'ENROL_BAD_TOKEN' // the request's token is not the one provisioned for that name
  | 'ENROL_TOKEN_USED' // the token was already spent on another key
  | 'ENROL_CONFLICT' // the name or key is already enrolled, or was revoked
  | 'ENROL_SEAL' // a sealed site secret cannot be made or does not open
  | 'ENROL_BAD_BOOTSTRAP' // a bootstrap file is not JSON or breaks the format (bootstrap.ts)
  | 'ENROL_NO_BOOTSTRAP' // first boot found no bootstrap on the boot partition nor in the state directory
  | 'ENROL_STATE' // the node's state directory holds something that contradicts the bootstrap
  | 'ENROL_SITE_SECRET' // the admin's site-secret file is unusable
  | 'ENROL_SITE_CA' // the site CA (ca.crt, ca.key) is missing, unusable, or would be overwritten
  | 'ENROL_PROVISION'; // the image or target cannot take a bootstrap

export class EnrolError extends Error {
  readonly code: EnrolErrorCode;

  constructor(code: EnrolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EnrolError';
    this.code = code;
  }
}

export function isEnrolError(err: unknown, code?: EnrolErrorCode): err is EnrolError {
  return err instanceof EnrolError && (code === undefined || err.code === code);
}
