// The node's own keys, made on the device at first boot and never copied anywhere (docs/design-notes.md: never bake one
// device's identity into the image): node.key holds the Ed25519 seed it signs ledger events with, node-kx.key
// the X25519 key the site secret is sealed to (seal.ts). Plain JSON with hex values, mode 0600 in the state
// directory (0700): the agent runs unattended, so there is no passphrase to ask for.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPair, keyPairFromSeed, type KeyPair } from '../ledger/crypto.ts';
import { writeFileDurable } from './durable.ts';
import { EnrolError } from './errors.ts';
import { generateKxKeyPair, kxPublicFromPrivate, type KxKeyPair } from './x25519.ts';

export const NODE_KEY_FILE = 'node.key';
export const NODE_KX_FILE = 'node-kx.key';

export interface NodeKeys { sign: KeyPair; kx: KxKeyPair }

interface KeyFileJson { format: string; publicKey: string; privateKey: string }

function readKey(path: string, format: string): { pub: Buffer; priv: Buffer } | undefined {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let f: KeyFileJson;
  try { f = JSON.parse(text) as KeyFileJson; } catch {
    throw new EnrolError('ENROL_STATE', `${path} is not a gdo node key file (not JSON); it was damaged: restore it, or revoke the node and provision it again`);
  }
  if (f.format !== format || !/^[0-9a-f]{64}$/.test(f.privateKey ?? '') || !/^[0-9a-f]{64}$/.test(f.publicKey ?? '')) {
    throw new EnrolError('ENROL_STATE', `${path} is not a ${format} key file`);
  }
  return { pub: Buffer.from(f.publicKey, 'hex'), priv: Buffer.from(f.privateKey, 'hex') };
}

function writeKey(path: string, format: string, pub: Buffer, priv: Buffer): void {
  writeFileDurable(path, `${JSON.stringify({ format, publicKey: pub.toString('hex'), privateKey: priv.toString('hex') })}\n`, 0o600);
}

const ED_FORMAT = 'gdo-node-ed25519-v1';
const KX_FORMAT = 'gdo-node-x25519-v1';

/** Reads the node's keys from `stateDir`, or undefined when first boot has not made them yet. */
export function readNodeKeys(stateDir: string): NodeKeys | undefined {
  const ed = readKey(join(stateDir, NODE_KEY_FILE), ED_FORMAT);
  const kx = readKey(join(stateDir, NODE_KX_FILE), KX_FORMAT);
  if (!ed || !kx) return undefined;
  const sign = keyPairFromSeed(ed.priv);
  if (!sign.publicKey.equals(ed.pub)) throw new EnrolError('ENROL_STATE', `${join(stateDir, NODE_KEY_FILE)}: the private key does not match its public key`);
  if (!kxPublicFromPrivate(kx.priv).equals(kx.pub)) throw new EnrolError('ENROL_STATE', `${join(stateDir, NODE_KX_FILE)}: the private key does not match its public key`);
  return { sign, kx: { privateKey: kx.priv, publicKey: kx.pub } };
}

/** Keeps keys that exist (re-running first boot must not change an identity an admin may have approved);
 *  makes whichever is missing. */
export function ensureNodeKeys(stateDir: string): NodeKeys & { created: string[] } {
  const created: string[] = [];
  const edPath = join(stateDir, NODE_KEY_FILE);
  const kxPath = join(stateDir, NODE_KX_FILE);
  if (!readKey(edPath, ED_FORMAT)) {
    const pair = generateKeyPair();
    writeKey(edPath, ED_FORMAT, pair.publicKey, pair.seed);
    created.push(NODE_KEY_FILE);
  }
  if (!readKey(kxPath, KX_FORMAT)) {
    const pair = generateKxKeyPair();
    writeKey(kxPath, KX_FORMAT, pair.publicKey, pair.privateKey);
    created.push(NODE_KX_FILE);
  }
  const keys = readNodeKeys(stateDir);
  if (!keys) throw new Error(`node keys missing in ${stateDir} right after writing them`);
  return { ...keys, created };
}
