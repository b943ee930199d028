// What the staff commands (member, badge, door, machine, certify, site) share: the data directory's
// ledger, the operator's key, the site secret that turns a typed card UID into the badge hash the
// ledger knows, and small formatting helpers. A UID lives only in argv and in the hash call: it is
// never printed, logged or stored (issue 6, "CLI"; agent/access/badge-hash.ts).
import { readSync } from 'node:fs';
import { join } from 'node:path';
import { badgeHash, parseUid } from '../access/badge-hash.ts';
import { Staff } from '../access/staff.ts';
import { ensureSiteSecret, readSiteSecret, siteSecretPath } from '../enrol/site-secret.ts';
import { isEnrolError } from '../enrol/errors.ts';
import { Signer } from '../ledger/crypto.ts';
import { hex, type SignedEvent } from '../ledger/event.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { badgeKey, type Badge } from '../../dapps/badge/index.ts';
import { str, UsageError, type Args } from './args.ts';
import { unlockKeyFile } from './keyfile.ts';
import { dataDir, openLedger } from './ledger-cmds.ts';
import { DeskPush, PUSH_FLAG, withPushOutput } from './desk-push.ts';

/** Options of every command that only reads the data directory. */
export const READ_FLAGS = ['data', 'json'] as const;
/** Options of every command that signs an event with the operator's key. */
export const SIGN_FLAGS = ['data', 'json', 'key', 'passphrase-file', PUSH_FLAG] as const;

export const COMMON_HELP = `common options: --data DIR (default $GDO_DATA or /var/lib/gdo), --json (one JSON document on stdout)
signing: --key FILE (default DIR/operator.key), passphrase from --passphrase-file FILE or a hidden prompt (three tries)
site: with a connected site (gdo site connect) what is signed is sent to the hub, waiting at most --push-wait S (5);
  offline, it stays signed in DIR (exit 0) and gdo sync sends it
exit codes: 0 ok, 1 failure (e.g. not found), 2 usage error, 3 refused by the ledger or the key file`;

export function readLedger<T>(a: Args, fn: (l: Ledger) => T): T {
  const l = openLedger(a);
  try { return fn(l); } finally { l.close(); }
}

/**
 * Opens the ledger first (so a wrong --data fails before the passphrase prompt), then the key. With a
 * connected site the link starts connecting meanwhile, and what fn signs is pushed (agent/cli/desk-push.ts).
 */
export async function withStaff<T>(a: Args, fn: (staff: Staff, l: Ledger) => T): Promise<T> {
  const l = openLedger(a);
  let push: DeskPush | null = null;
  try {
    push = await DeskPush.open(a, l);
    const keyPath = str(a, 'key', join(dataDir(a), 'operator.key'));
    const signer = new Signer(await unlockKeyFile(keyPath, a.flags, 'operator key'));
    return await withPushOutput(a, push, () => fn(new Staff(l, signer), l));
  } finally {
    await push?.close();
    l.close();
  }
}

/**
 * The site secret of the data directory. `gdo init` makes it; an older directory gets one here only
 * while nothing depends on it yet (no badge hashed, no node sealed one), since a second secret
 * would orphan every badge hash made with the first.
 */
export function siteSecret(a: Args, l: Ledger): Buffer {
  const dir = dataDir(a);
  try {
    const s = readSiteSecret(dir);
    if (s) return s;
    if (l.scan('badge/b/').length > 0 || l.scan('org/box/').length > 0) {
      throw new Error(`no site secret at ${siteSecretPath(dir)}, but this ledger's badges or nodes use one: copy it (mode 0600) from the data directory that made them`);
    }
    const made = ensureSiteSecret(dir);
    if (made.created) process.stderr.write(`gdo: note: made a new site secret in ${siteSecretPath(dir)} (back it up: badge hashes depend on it)\n`);
    return made.secret;
  } catch (e) {
    if (isEnrolError(e)) throw new Error(e.message);
    throw e;
  }
}

/** The card UID in option `flag`, checked before any passphrase prompt. Never echoed, even when malformed. */
/**
 * A card UID from --FLAG HEX, or with `--FLAG -` one line of standard input: what a USB desk
 * reader types, or the operator, so the UID stays out of the shell's history. Neither the UID
 * nor a near miss of one is ever repeated in an error.
 */
export function readUid(a: Args, flag: string): Buffer {
  let text = str(a, flag);
  if (text === '-') {
    if (process.stdin.isTTY) process.stderr.write(`${flag}: present the card to the desk reader (or type its UID), then Enter: `);
    text = readLineFromStdin();
    if (text === '') throw new UsageError(`--${flag} -: no card UID on standard input`);
  }
  try { return parseUid(text); } catch {
    throw new UsageError(`--${flag} is not a card UID (4 to 10 bytes in hex, e.g. 04:a2:19:c3)`);
  }
}

/** The first line of standard input, read synchronously (the CLI reads nothing else from it). */
function readLineFromStdin(): string {
  const chunk = Buffer.alloc(256);
  let line = '';
  for (;;) {
    let n: number;
    try { n = readSync(0, chunk, 0, chunk.length, null); } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue; // a non-blocking terminal: try again
      if ((e as NodeJS.ErrnoException).code === 'EOF') break;
      throw e;
    }
    if (n === 0) break;
    line += chunk.toString('utf8', 0, n);
    const nl = line.search(/[\r\n]/);
    if (nl >= 0) { line = line.slice(0, nl); break; }
    if (line.length > 256) break; // no UID is this long; parseUid refuses it
  }
  return line.trim();
}

/** The badge hash the ledger knows for a UID; the UID's bytes are wiped once hashed. */
export function hashUid(secret: Buffer, uid: Buffer): string {
  try { return badgeHash(secret, uid); } finally { uid.fill(0); }
}

/** A badge named by its hash or a unique prefix of it (at least 8 hex digits, as `gdo badge list` shows). */
export function findBadge(l: Ledger, flag: string, prefix: string): Badge {
  const p = prefix.toLowerCase();
  if (!/^[0-9a-f]{8,32}$/.test(p)) throw new UsageError(`--${flag} '${prefix}' is not a badge hash prefix (8 to 32 hex digits from gdo badge list)`);
  const hits = l.scan<Badge>(badgeKey(p));
  if (hits.length === 0) throw new Error(`no badge hash starts with ${p} (see gdo badge list)`);
  if (hits.length > 1) throw new UsageError(`--${flag} ${p} matches ${hits.length} badges; give more digits`);
  return hits[0]![1];
}

/** How listings show a badge: a prefix of its hash, never more of it than needed to pick one. */
export const shortHash = (h: string): string => h.slice(0, 12);
export const eventId = (e: SignedEvent): string => hex(e.id);

/** The first positional argument or --flag: `gdo member show alice` and `--member alice` both work. */
export function idArg(a: Args, flag: string, what: string, pos = 0): string {
  const v = a.flags.get(flag) ?? a.pos[pos];
  if (v === undefined || v === true || v === '') throw new UsageError(`missing ${what} (give it as an argument or --${flag})`);
  if (a.flags.has(flag) && a.pos[pos] !== undefined) throw new UsageError(`${what} given twice ('${a.pos[pos]}' and --${flag})`);
  return v;
}

export function noExtraArgs(a: Args, max: number): void {
  if (a.pos.length > max) throw new UsageError(`unexpected argument '${a.pos[max]}'`);
}

/** Comma-separated values of a repeatable option: `--group a,b --group c`. */
export function splitList(values: string[]): string[] {
  return values.flatMap((v) => v.split(/[,;]/)).map((v) => v.trim()).filter(Boolean);
}

/** Aligned columns for people; scripts use --json. */
export function table(header: string[], rows: string[][]): string {
  if (rows.length === 0) return '(none)';
  const all = [header, ...rows];
  const w = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(w[i]!))).join('  ').trimEnd()).join('\n');
}
