// Typed errors for range-based set reconciliation. Codes are stable: callers (the MQTT
// sync layer) switch on `code` to decide whether to drop a peer's session or retry.

export type RbsrErrorCode =
  | 'RBSR_BAD_FRAME' // a peer sent bytes that do not decode as a frame
  | 'RBSR_VERSION' // a peer speaks a protocol version we do not
  | 'RBSR_STATE' // the API was called out of order (e.g. initiate() twice)
  | 'RBSR_CONFIG' // reconciler options out of range
  | 'RBSR_BAD_ITEM'; // an item given to a source is not a valid (ts, id)

export class RbsrError extends Error {
  readonly code: RbsrErrorCode;

  constructor(code: RbsrErrorCode, message: string) {
    super(message);
    this.name = 'RbsrError';
    this.code = code;
  }
}

export function badFrame(what: string, offset: number): RbsrError {
  return new RbsrError('RBSR_BAD_FRAME', `bad rbsr frame at byte ${offset}: ${what}`);
}
