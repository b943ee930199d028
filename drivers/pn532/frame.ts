// PN532 frame codec. Byte layouts from the PN532 User Manual UM0701-02 §6.2.1:
//   normal information frame (§6.2.1.1): 00 | 00 FF | LEN | LCS | TFI | PD0..PDn | DCS | 00
//   extended information frame (§6.2.1.2): 00 | 00 FF | FF FF | LENM LENL | LCS | TFI | PD.. | DCS | 00
//   ACK (§6.2.1.3): 00 00 FF 00 FF 00, NACK (§6.2.1.4): 00 00 FF FF 00 00
//   application error frame (§6.2.1.5): 00 00 FF 01 FF 7F 81 00
import { Pn532Error } from './errors.ts';

/** TFI (§6.2.1.1): frames from the host to the PN532. */
export const TFI_HOST_TO_PN532 = 0xd4;
/** TFI (§6.2.1.1): frames from the PN532 to the host. */
export const TFI_PN532_TO_HOST = 0xd5;
/** The "TFI" byte of the application error frame (§6.2.1.5). */
export const TFI_APP_ERROR = 0x7f;

export const ACK_FRAME: Buffer = Buffer.from([0x00, 0x00, 0xff, 0x00, 0xff, 0x00]);
export const NACK_FRAME: Buffer = Buffer.from([0x00, 0x00, 0xff, 0xff, 0x00, 0x00]);
export const APP_ERROR_FRAME: Buffer = Buffer.from([0x00, 0x00, 0xff, 0x01, 0xff, 0x7f, 0x81, 0x00]);

/** LEN of a normal frame is one byte: TFI + data <= 255 (LEN FF with LCS 01 is still a normal frame). */
export const MAX_NORMAL_LEN = 0xff;
/** The PN532 buffers at most 264 data bytes (§6.2.1.2); anything above is refused. */
export const MAX_EXTENDED_LEN = 265;

/** LCS / DCS rule (§6.2.1.1): the checksum byte makes the low byte of the sum zero. */
export function checksum(bytes: Uint8Array, start = 0, end = bytes.length): number {
  let sum = 0;
  for (let i = start; i < end; i++) sum += bytes[i]!;
  return (0x100 - (sum & 0xff)) & 0xff;
}

/**
 * Encodes one information frame. `body` is PD0..PDn: the command (or response) code then its
 * parameters. Uses the normal layout when TFI+body fits LEN, the extended layout otherwise.
 */
export function encodeFrame(tfi: number, body: Uint8Array): Buffer {
  const len = body.length + 1;
  if (len > MAX_EXTENDED_LEN) {
    throw new Pn532Error('PN532_BAD_FRAME', `frame body must be at most ${MAX_EXTENDED_LEN - 1} bytes, got ${body.length}`);
  }
  const extended = len > MAX_NORMAL_LEN;
  const head = extended ? 8 : 5;
  const out = Buffer.alloc(head + len + 2);
  out[0] = 0x00; // preamble
  out[1] = 0x00; // start code
  out[2] = 0xff;
  if (extended) {
    out[3] = 0xff; // extended marker (§6.2.1.2)
    out[4] = 0xff;
    out[5] = len >> 8;
    out[6] = len & 0xff;
    out[7] = checksum(out, 5, 7);
  } else {
    out[3] = len;
    out[4] = (0x100 - len) & 0xff;
  }
  out[head] = tfi;
  out.set(body, head + 1);
  out[head + len] = checksum(out, head, head + len);
  out[head + len + 1] = 0x00; // postamble
  return out;
}

/** A command frame from the host: TFI D4, then the command code and its parameters (§7). */
export function encodeCommand(code: number, params: Uint8Array = Buffer.alloc(0)): Buffer {
  const body = Buffer.alloc(params.length + 1);
  body[0] = code;
  body.set(params, 1);
  return encodeFrame(TFI_HOST_TO_PN532, body);
}

/** A response frame from the PN532: TFI D5, response code (= command code + 1), data (§7). */
export function encodeResponse(commandCode: number, data: Uint8Array = Buffer.alloc(0)): Buffer {
  const body = Buffer.alloc(data.length + 1);
  body[0] = (commandCode + 1) & 0xff;
  body.set(data, 1);
  return encodeFrame(TFI_PN532_TO_HOST, body);
}
