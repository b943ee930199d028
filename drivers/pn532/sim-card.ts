// Cards the PN532 simulator can present, with realistic ATQA / SAK defaults (ISO/IEC 14443-3 §6.5.2:
// ATQA bits 7-8 give the UID size; SAK bit 6 says ISO/IEC 14443-4 support, hence an ATS).
import type { TargetA } from './commands.ts';

export interface SimCard {
  /** 4, 7 or 10 bytes. */
  uid: Buffer;
  /** SENS_RES as the PN532 reports it (big-endian); default by UID size. */
  atqa?: number;
  /** SEL_RES; default 0x08 (MIFARE Classic) for 4-byte UIDs, 0x00 otherwise, 0x20 when an ATS is given. */
  sak?: number;
  /** ATS including TL. A card with SAK bit 6 and no ATS gets a DESFire-like default. */
  ats?: Buffer;
}

/** DESFire EV1-like ATS: TL=06, T0=75, TA=77, TB=81, TC=02, one historical byte 80. */
export const DEFAULT_ATS: Buffer = Buffer.from([0x06, 0x75, 0x77, 0x81, 0x02, 0x80]);

const ATQA_BY_UID_LENGTH: Record<number, number> = { 4: 0x0004, 7: 0x0044, 10: 0x0084 };

export function toTarget(card: SimCard, tg: number): TargetA {
  if (!(card.uid.length in ATQA_BY_UID_LENGTH)) {
    throw new RangeError(`simulated card: uid must be 4, 7 or 10 bytes, got ${card.uid.length}`);
  }
  let sak = card.sak ?? (card.uid.length === 4 ? 0x08 : 0x00);
  if (card.ats) sak |= 0x20;
  const target: TargetA = { tg, atqa: card.atqa ?? ATQA_BY_UID_LENGTH[card.uid.length]!, sak, uid: Buffer.from(card.uid) };
  if (sak & 0x20) target.ats = Buffer.from(card.ats ?? DEFAULT_ATS);
  return target;
}
