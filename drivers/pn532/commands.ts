// PN532 command codes, parameter builders and response decoders (UM0701-02 §7). Pure functions,
// shared by the driver and the simulator.
import { Pn532Error } from './errors.ts';

/** Command codes (§7.2, §7.3). The response code is always the command code + 1. */
export const Command = {
  GetFirmwareVersion: 0x02, // §7.2.2
  SAMConfiguration: 0x14, // §7.2.10
  RFConfiguration: 0x32, // §7.3.1
  InDataExchange: 0x40, // §7.3.8
  InListPassiveTarget: 0x4a, // §7.3.5
  InRelease: 0x52, // §7.3.11
} as const;

export type CommandCode = (typeof Command)[keyof typeof Command];

export function commandName(code: number): string {
  for (const [name, value] of Object.entries(Command)) if (value === code) return `${name} (0x${hex2(code)})`;
  return `command 0x${hex2(code)}`;
}

export function hex2(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

/** HSU wake-up (see PowerDown, §7.2.11, and the HSU wake-up condition): 0x55 0x55 then enough zeros to cover the wake-up time. */
export const WAKE_UP_SEQUENCE: Buffer = Buffer.from([0x55, 0x55, ...new Array<number>(14).fill(0x00)]);

/** SAMConfiguration (§7.2.10): Mode 0x01 = normal mode, the SAM is not used. */
export const SAM_NORMAL_MODE: Buffer = Buffer.from([0x01]);

/** RFConfiguration item 0x05, MaxRetries (§7.3.1): MxRtyATR, MxRtyPSL, MxRtyPassiveActivation. */
export function maxRetriesParams(atr: number, psl: number, passiveActivation: number): Buffer {
  return Buffer.from([0x05, atr & 0xff, psl & 0xff, passiveActivation & 0xff]);
}

/** InListPassiveTarget (§7.3.5): MaxTg, BrTy 0x00 = 106 kbps type A (ISO/IEC 14443 Type A). */
export function inListPassiveTargetParams(maxTargets: 1 | 2): Buffer {
  return Buffer.from([maxTargets, 0x00]);
}

export interface FirmwareVersion {
  /** IC version: 0x32 for the PN532. */
  ic: number;
  ver: number;
  rev: number;
  /** Bit 0 ISO/IEC 14443 Type A, bit 1 Type B, bit 2 ISO 18092. */
  support: number;
}

/** GetFirmwareVersion response (§7.2.2): IC, Ver, Rev, Support, after the response code 0x03. */
export function decodeFirmwareVersion(data: Buffer): FirmwareVersion {
  if (data.length !== 4) {
    throw new Pn532Error('PN532_BAD_FRAME', `GetFirmwareVersion reply must carry 4 bytes (IC, Ver, Rev, Support), got ${data.length}`);
  }
  return { ic: data[0]!, ver: data[1]!, rev: data[2]!, support: data[3]! };
}

/** One ISO/IEC 14443 type A target as reported by InListPassiveTarget (§7.3.5, "106 kbps type A"). */
export interface TargetA {
  /** Logical target number the PN532 gives the card (used by InDataExchange / InRelease). */
  tg: number;
  /** SENS_RES (ATQA), two bytes as sent by the PN532, most significant byte first. */
  atqa: number;
  /** SEL_RES (SAK). */
  sak: number;
  /** NFCID1: 4, 7 or 10 bytes (single, double, triple size UID). */
  uid: Buffer;
  /** ATS including its length byte TL; present when SAK bit 6 says the card is ISO/IEC 14443-4 compliant. */
  ats?: Buffer;
}

const UID_LENGTHS = new Set([4, 7, 10]);
/** SEL_RES bit 6 (0x20): the PICC is compliant with ISO/IEC 14443-4, so the PN532 appends its ATS. */
const SAK_ISO14443_4 = 0x20;

/**
 * InListPassiveTarget response data for BrTy 0x00 (§7.3.5): NbTg, then per target
 * Tg, SENS_RES (2), SEL_RES, NFCIDLength, NFCID1 (n), [ATS]. Strict: every byte must be accounted
 * for, otherwise the frame is refused.
 */
export function decodeTargetsA(data: Buffer): TargetA[] {
  const bad = (what: string): Pn532Error =>
    new Pn532Error('PN532_BAD_FRAME', `InListPassiveTarget reply: ${what}`);
  if (data.length < 1) throw bad('missing NbTg');
  const count = data[0]!;
  if (count > 2) throw bad(`NbTg must be 0..2, got ${count}`);
  const targets: TargetA[] = [];
  let p = 1;
  for (let n = 0; n < count; n++) {
    if (p + 5 > data.length) throw bad(`target ${n + 1} truncated at byte ${p}`);
    const tg = data[p]!;
    const atqa = (data[p + 1]! << 8) | data[p + 2]!;
    const sak = data[p + 3]!;
    const uidLen = data[p + 4]!;
    if (!UID_LENGTHS.has(uidLen)) throw bad(`NFCIDLength must be 4, 7 or 10, got ${uidLen}`);
    p += 5;
    if (p + uidLen > data.length) throw bad(`UID needs ${uidLen} bytes, only ${data.length - p} left`);
    const target: TargetA = { tg, atqa, sak, uid: Buffer.from(data.subarray(p, p + uidLen)) };
    p += uidLen;
    if (sak & SAK_ISO14443_4) {
      const tl = data[p];
      if (tl === undefined || tl < 1 || p + tl > data.length) throw bad(`ATS length byte ${tl ?? 'missing'} does not fit`);
      target.ats = Buffer.from(data.subarray(p, p + tl));
      p += tl;
    }
    targets.push(target);
  }
  if (p !== data.length) throw bad(`${data.length - p} unexpected trailing bytes`);
  return targets;
}

/** Encodes targets the way the PN532 reports them (used by the simulator and by tests). */
export function encodeTargetsA(targets: readonly TargetA[]): Buffer {
  const parts: Buffer[] = [Buffer.from([targets.length])];
  for (const t of targets) {
    parts.push(Buffer.from([t.tg, t.atqa >> 8, t.atqa & 0xff, t.sak, t.uid.length]), t.uid);
    if (t.ats) parts.push(t.ats);
  }
  return Buffer.concat(parts);
}

/** Status byte (§7.3.8): bits 0-5 error code, bit 6 MI (more information, chaining), bit 7 NAD. */
export interface StatusByte {
  error: number;
  moreInformation: boolean;
  nad: boolean;
}

export function decodeStatus(status: number): StatusByte {
  return { error: status & 0x3f, moreInformation: (status & 0x40) !== 0, nad: (status & 0x80) !== 0 };
}
