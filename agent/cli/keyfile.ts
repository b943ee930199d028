// Operator key files: the Ed25519 seed encrypted with a passphrase (scrypt, then AES-256-GCM),
// written with mode 0600. The passphrase comes from GDO_PASSPHRASE, a --passphrase-file, or a
// prompt on the terminal; it is never logged.
import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { readFileSync, writeFileSync, renameSync } from 'node:fs';
import { keyPairFromSeed, type KeyPair } from '../ledger/crypto.ts';

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

interface KeyFile {
  format: 'gdo-key-v1'; publicKey: string; kdf: 'scrypt'; N: number; r: number; p: number;
  salt: string; cipher: 'aes-256-gcm'; iv: string; data: string; tag: string;
}

export class KeyFileError extends Error {}

export function writeKeyFile(path: string, pair: KeyPair, passphrase: string): void {
  if (passphrase.length < 8) throw new KeyFileError('the passphrase must have at least 8 characters');
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

export function readKeyFile(path: string, passphrase: string): KeyPair {
  let f: KeyFile;
  try { f = JSON.parse(readFileSync(path, 'utf8')) as KeyFile; } catch (e) {
    throw new KeyFileError(`cannot read key file ${path}: ${(e as Error).message}`);
  }
  if (f.format !== 'gdo-key-v1' || f.kdf !== 'scrypt' || f.cipher !== 'aes-256-gcm') throw new KeyFileError(`${path} is not a gdo key file`);
  const key = scryptSync(passphrase, Buffer.from(f.salt, 'hex'), 32, { N: f.N, r: f.r, p: f.p, maxmem: SCRYPT.maxmem });
  const d = createDecipheriv('aes-256-gcm', key, Buffer.from(f.iv, 'hex'));
  d.setAAD(Buffer.from(f.publicKey, 'hex'));
  d.setAuthTag(Buffer.from(f.tag, 'hex'));
  let seed: Buffer;
  try { seed = Buffer.concat([d.update(Buffer.from(f.data, 'hex')), d.final()]); } catch {
    throw new KeyFileError(`wrong passphrase for ${path}`);
  }
  const pair = keyPairFromSeed(seed);
  if (pair.publicKey.toString('hex') !== f.publicKey) throw new KeyFileError(`${path}: the key does not match its public key`);
  return pair;
}

export async function passphrase(flags: Map<string, string | true>, purpose: string): Promise<string> {
  const file = flags.get('passphrase-file');
  if (typeof file === 'string') return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  if (process.env.GDO_PASSPHRASE) return process.env.GDO_PASSPHRASE;
  if (!process.stdin.isTTY) throw new KeyFileError(`${purpose}: no passphrase (set GDO_PASSPHRASE or --passphrase-file; stdin is not a terminal)`);
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  try { return await rl.question(`${purpose} passphrase: `); } finally { rl.close(); }
}
