// The site secret: 32 random bytes in the admin's data directory (<data>/site-secret, mode 0600) that badge
// ids are hashed with (issue 3). Nodes receive it sealed to their X25519 key in org/node.add (seal.ts).
// `gdo init` makes it; approving a node makes it when an older data directory lacks it.
import { openSync, closeSync, writeSync, fsyncSync, readFileSync, statSync, linkSync, unlinkSync, constants } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fsyncDir } from './durable.ts';
import { EnrolError } from './errors.ts';
import { SITE_SECRET_BYTES } from './seal.ts';

export const SITE_SECRET_FILE = 'site-secret';

export function siteSecretPath(dataDir: string): string {
  return join(dataDir, SITE_SECRET_FILE);
}

export function readSiteSecret(dataDir: string): Buffer | undefined {
  const path = siteSecretPath(dataDir);
  let st;
  try { st = statSync(path); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  if (!st.isFile()) throw new EnrolError('ENROL_SITE_SECRET', `${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    throw new EnrolError('ENROL_SITE_SECRET', `${path} is readable by others (mode 0${(st.mode & 0o777).toString(8)}); run chmod 600 ${path}`);
  }
  const secret = readFileSync(path);
  if (secret.length !== SITE_SECRET_BYTES) {
    throw new EnrolError('ENROL_SITE_SECRET', `${path} holds ${secret.length} bytes, expected ${SITE_SECRET_BYTES}; restore it from a backup (a new secret would orphan every badge hash)`);
  }
  return secret;
}

/** Returns the site secret, creating it when absent: written whole under a temp name, then hard-linked into
 *  place, which fails if another process made one meanwhile (a secret is never replaced or left half-written). */
export function ensureSiteSecret(dataDir: string): { secret: Buffer; created: boolean } {
  const existing = readSiteSecret(dataDir);
  if (existing) return { secret: existing, created: false };
  const path = siteSecretPath(dataDir);
  const tmp = `${path}.tmp-${process.pid}`;
  const secret = randomBytes(SITE_SECRET_BYTES);
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o600);
  try { writeSync(fd, secret); fsyncSync(fd); } finally { closeSync(fd); }
  try {
    linkSync(tmp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return { secret: readSiteSecret(dataDir)!, created: false };
  } finally {
    unlinkSync(tmp);
  }
  fsyncDir(dataDir);
  return { secret, created: true };
}
