// Stable rejection codes of the ingest pipeline (docs/ledger-format.md, "Rejections").
// Codes are part of the protocol: peers and scripts match on them, so never rename one.
export const REJECTION_CODES = [
  'TOO_LARGE',        // the encoding exceeds MAX_EVENT_BYTES
  'BAD_ENCODING',     // the bytes do not decode as an event
  'NOT_CANONICAL',    // decodes, but is not the one canonical encoding of its content
  'BAD_SIGNATURE',    // the Ed25519 signature does not verify
  'WRONG_ORG',        // signed for another organisation
  'BAD_CHAIN',        // sequence number / previous event / parents inconsistent
  'BAD_CLOCK',        // the hybrid logical clock does not advance past its dependencies
  'FROM_FUTURE',      // dated too far ahead of this node's clock: retry later
  'UNKNOWN_TYPE',     // no dapp on this node declares the event's dapp/type
  'INVALID_BODY',     // the body breaks its type's schema or a dapp rule
  'NOT_AUTHORIZED',   // the author may not do this at the event's causal position
  'EQUIVOCATION',     // a second, different event at the same author and sequence number
  'INVALID_PARENT',   // depends on an event that was itself rejected
  'DAPP_ERROR',       // a dapp threw something other than a rejection
  'BAD_BUNDLE',       // a bundle file is truncated, tampered with or malformed
  'PENDING_FULL',     // waits for unknown parents, and its unknown author has its share of the pending pool
] as const;

export type RejectionCode = (typeof REJECTION_CODES)[number];

/** A rejection with a stable code and a message naming what was wrong. */
export class LedgerError extends Error {
  readonly code: RejectionCode;
  constructor(code: RejectionCode, message: string) {
    super(message);
    this.name = 'LedgerError';
    this.code = code;
  }
}

export function reject(code: RejectionCode, message: string): never {
  throw new LedgerError(code, message);
}

export function isLedgerError(e: unknown): e is LedgerError {
  return e instanceof LedgerError;
}
