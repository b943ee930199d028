// Operator key files: the Ed25519 seed encrypted with a passphrase (scrypt, then AES-256-GCM),
// written with mode 0600. The passphrase comes from --passphrase-file FILE or a prompt on the
// terminal that shows nothing of what is typed (passphrase-prompt.ts); a new key's passphrase is asked
// twice, a wrong one for an existing key may be typed three times. It is never logged or echoed.
//
// GDO_PASSPHRASE is read too, for the tests only, and deliberately not documented for
// people: a variable is inherited by every child process, readable in /proc/PID/environ by the same user,
// and `export GDO_PASSPHRASE=...` typed at a prompt stays in the shell history.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { keyPairFromSeed, type KeyPair } from '../ledger/crypto.ts';
import { askHidden, PromptCancelled } from './passphrase-prompt.ts';

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
export const MIN_PASSPHRASE = 8;
/** Tries at the terminal: a wrong passphrase for an existing key, or a new one that is too short or not confirmed. */
export const TRIES = 3;

interface KeyFile {
  format: 'gdo-key-v1'; publicKey: string; kdf: 'scrypt'; N: number; r: number; p: number;
  salt: string; cipher: 'aes-256-gcm'; iv: string; data: string; tag: string;
}

export class KeyFileError extends Error {}

/** A passphrase was given but does not open the key (the CLI may ask again). */
class WrongPassphrase extends KeyFileError {}

export function writeKeyFile(path: string, pair: KeyPair, passphrase: string): void {
  if (passphrase.length < MIN_PASSPHRASE) throw new KeyFileError(`the passphrase must have at least ${MIN_PASSPHRASE} characters`);
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = scryptSync(passphrase, salt, 32, SCRYPT);
  const c = createCipheriv('aes-256-gcm', key, iv);
  c.setAAD(pair.publicKey);
  const data = Buffer.concat([c.update(pair.seed), c.final()]);
  const file: KeyFile = {
    format: 'gdo-key-v1', publicKey: pair.publicKey.toString('hex'), kdf: 'scrypt', N: SCRYPT.N, r: SCRYPT.r, p: SCRYPT.p,
    salt: salt.toString('hex'), cipher: 'aes-256-gcm', iv: iv.toString('hex'), data: data.toString('hex'), tag: c.getAuthTag().toString('hex'),
  };
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, path);
}

function parseKeyFile(path: string): KeyFile {
  let f: KeyFile;
  try { f = JSON.parse(readFileSync(path, 'utf8')) as KeyFile; } catch (e) {
    throw new KeyFileError(`cannot read key file ${path}: ${(e as Error).message}`);
  }
  if (f.format !== 'gdo-key-v1' || f.kdf !== 'scrypt' || f.cipher !== 'aes-256-gcm') throw new KeyFileError(`${path} is not a gdo key file`);
  return f;
}

function openKeyFile(f: KeyFile, path: string, passphrase: string): KeyPair {
  const key = scryptSync(passphrase, Buffer.from(f.salt, 'hex'), 32, { N: f.N, r: f.r, p: f.p, maxmem: SCRYPT.maxmem });
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(f.iv, 'hex'));
  d.setAAD(Buffer.from(f.publicKey, 'hex'));
  d.setAuthTag(Buffer.from(f.tag, 'hex'));
  let seed: Buffer;
  try { seed = Buffer.concat([d.update(Buffer.from(f.data, 'hex')), d.final()]); } catch {
    throw new WrongPassphrase(`wrong passphrase for ${path}`);
  }
  const pair = keyPairFromSeed(seed);
  if (pair.publicKey.toString('hex') !== f.publicKey) throw new KeyFileError(`${path}: the key does not match its public key`);
  return pair;
}

export function readKeyFile(path: string, passphrase: string): KeyPair {
  return openKeyFile(parseKeyFile(path), path, passphrase);
}

type Flags = Map<string, string | true>;

/** From --passphrase-file or GDO_PASSPHRASE; undefined when neither is given (then the terminal is asked). */
function givenPassphrase(flags: Flags): string | undefined {
  const file = flags.get('passphrase-file');
  if (file === true) throw new KeyFileError('--passphrase-file needs a FILE');
  if (typeof file === 'string') {
    let text: string;
    try { text = readFileSync(file, 'utf8'); } catch (e) {
      throw new KeyFileError(`cannot read --passphrase-file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    const pass = text.replace(/\r?\n$/, '');
    if (pass === '') throw new KeyFileError(`--passphrase-file ${file} is empty`);
    return pass;
  }
  return process.env.GDO_PASSPHRASE ? process.env.GDO_PASSPHRASE : undefined;
}

function needTerminal(purpose: string): void {
  if (!process.stdin.isTTY) throw new KeyFileError(`${purpose}: no passphrase (use --passphrase-file FILE, or run on a terminal to be asked)`);
}

async function ask(prompt: string): Promise<string> {
  try {
    return await askHidden(prompt);
  } catch (e) {
    if (e instanceof PromptCancelled) throw new KeyFileError('cancelled: no passphrase given');
    throw e;
  }
}

/**
 * The passphrase for a new key: --passphrase-file, or asked twice on the terminal (hidden). Too short or
 * not the same twice: said at once and asked again, TRIES times in all, then the command ends.
 */
export async function newPassphrase(flags: Flags, purpose: string): Promise<string> {
  const given = givenPassphrase(flags);
  if (given !== undefined) {
    if (given.length < MIN_PASSPHRASE) throw new KeyFileError(`the passphrase must have at least ${MIN_PASSPHRASE} characters`);
    return given;
  }
  needTerminal(purpose);
  for (let i = 1; i <= TRIES; i++) {
    const first = await ask(`${purpose} passphrase (at least ${MIN_PASSPHRASE} characters): `);
    if (first.length < MIN_PASSPHRASE) {
      process.stderr.write(`too short: ${first.length} character${first.length === 1 ? '' : 's'}, at least ${MIN_PASSPHRASE}\n`);
      continue;
    }
    const again = await ask(`${purpose} passphrase again: `);
    if (again === first) return first;
    process.stderr.write('the two passphrases differ\n');
  }
  throw new KeyFileError(`${purpose}: no passphrase set after ${TRIES} tries; nothing written`);
}

/**
 * Opens the key file at `path`: with the passphrase from --passphrase-file (one try: a file does not
 * change), or asked on the terminal, hidden, up to TRIES times. The file is read first, so a wrong path
 * fails before anyone types.
 */
export async function unlockKeyFile(path: string, flags: Flags, purpose: string): Promise<KeyPair> {
  const f = parseKeyFile(path);
  const given = givenPassphrase(flags);
  if (given !== undefined) return openKeyFile(f, path, given);
  needTerminal(purpose);
  for (let i = 1; ; i++) {
    try {
      return openKeyFile(f, path, await ask(`${purpose} passphrase: `));
    } catch (e) {
      if (!(e instanceof WrongPassphrase)) throw e;
      if (i >= TRIES) throw new KeyFileError(`wrong passphrase for ${path} (${TRIES} tries)`);
      process.stderr.write(`wrong passphrase, try again (${TRIES - i} ${TRIES - i === 1 ? 'try' : 'tries'} left)\n`);
    }
  }
}
