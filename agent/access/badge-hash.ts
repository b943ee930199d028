// How a card's UID becomes the badge id the ledger knows: HMAC-SHA256 under the site secret,
// truncated to 16 bytes. Without the secret a ledger copy (a USB bundle, a stolen SD card of a
// node not yet enrolled) cannot be turned back into cloneable UIDs by trying the UID space
// (4-byte UIDs are only 2^32). Nodes get the secret sealed to their key when they are enrolled
// (agent/enrol/seal.ts); admins keep it in their data directory.
import { createHmac } from 'node:crypto';

const DOMAIN = Buffer.from('gdo:badge:v1\0', 'ascii');
export const SITE_SECRET_BYTES = 32;

export function badgeHash(secret: Buffer, uid: Buffer): string {
  if (secret.length !== SITE_SECRET_BYTES) throw new Error(`site secret must be ${SITE_SECRET_BYTES} bytes, got ${secret.length}`);
  return createHmac('sha256', secret).update(DOMAIN).update(uid).digest().subarray(0, 16).toString('hex');
}

/** Parses a UID as staff type it or a USB reader prints it: hex, with or without ':' or spaces. */
export function parseUid(text: string): Buffer {
  const h = text.replace(/[\s:-]/g, '').toLowerCase();
  // The text is not repeated: a near-miss of a real UID is still a secret worth keeping out of logs.
  if (!/^(?:[0-9a-f]{2}){4,10}$/.test(h)) throw new Error(`not a card UID (expected 4 to 10 bytes in hex, e.g. 04:a2:19:c3; got ${text.length} characters)`);
  return Buffer.from(h, 'hex');
}
