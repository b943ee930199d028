// Typed PN532 errors: a stable `code` for programs, a message that names what was wrong for people.

export type Pn532ErrorCode =
  | 'PN532_TIMEOUT' // no ACK or no response in time
  | 'PN532_NACK' // the PN532 kept answering NACK (§6.2.1.4) to our command
  | 'PN532_APP_ERROR' // application error frame (§6.2.1.5): syntax error in the command
  | 'PN532_BAD_FRAME' // a frame failed its checksums or did not decode
  | 'PN532_STATUS' // the PN532 returned a non-zero status byte (§7.1 error codes)
  | 'PN532_DISCONNECTED' // the transport closed underneath us
  | 'PN532_PORT' // the transport could not be opened or written
  | 'PN532_STOPPED'; // the driver was stopped while a command was pending

export class Pn532Error extends Error {
  readonly code: Pn532ErrorCode;
  /** PN532 status byte for PN532_STATUS errors (§7.1). */
  readonly status: number | undefined;

  constructor(code: Pn532ErrorCode, message: string, options?: { status?: number; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'Pn532Error';
    this.code = code;
    this.status = options?.status;
  }
}

export function isPn532Error(err: unknown, code?: Pn532ErrorCode): err is Pn532Error {
  return err instanceof Pn532Error && (code === undefined || err.code === code);
}

/** Wraps any thrown value into a Pn532Error so callers see a stable code. */
export function toPn532Error(err: unknown, fallback: Pn532ErrorCode = 'PN532_PORT'): Pn532Error {
  if (err instanceof Pn532Error) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new Pn532Error(fallback, message, { cause: err });
}

// Error codes of the status byte, UM0701-02 §7.1 (table "Error code list").
const STATUS_NAMES: Record<number, string> = {
  0x01: 'target did not answer (time out)',
  0x02: 'CRC error detected by the CIU',
  0x03: 'parity error detected by the CIU',
  0x04: 'erroneous bit count during anticollision',
  0x05: 'framing error during MIFARE operation',
  0x06: 'abnormal bit collision during 106 kbps anticollision',
  0x07: 'communication buffer size insufficient',
  0x09: 'RF buffer overflow detected by the CIU',
  0x0a: 'RF field not switched on in time',
  0x0b: 'RF protocol error',
  0x0d: 'temperature error: antenna drivers switched off',
  0x0e: 'internal buffer overflow',
  0x10: 'invalid parameter',
  0x12: 'DEP command received is not supported',
  0x13: 'DEP data format does not match the specification',
  0x14: 'MIFARE authentication error',
  0x23: 'ISO/IEC 14443-3 UID check byte is wrong',
  0x25: 'DEP invalid device state',
  0x26: 'operation not allowed in this configuration',
  0x27: 'command not acceptable in the current context',
  0x29: 'target released by the initiator',
  0x2a: 'card ID does not match: card was exchanged',
  0x2b: 'activated card disappeared',
  0x2c: 'NFCID3 initiator/target mismatch in DEP 212/424 kbps passive',
  0x2d: 'over-current event detected',
  0x2e: 'NAD missing in DEP frame',
};

export function statusName(status: number): string {
  return STATUS_NAMES[status & 0x3f] ?? 'unknown error';
}
