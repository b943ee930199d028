// The enrolment request a node makes at first boot and an admin approves (`gdo node approve`):
//   {v: 1, org, name, roles, key, kx, token, at, sig}
// org     hex genesis id of the organisation the node was provisioned for
// name    the node name (org/node.add's name), roles its roles as provisioned
// key     the node's Ed25519 public key (hex), made on the device; kx its X25519 public key (hex)
// token   the one-time enrolment token from the node's bootstrap (hex, 32 bytes); the admin kept its hash
// at      when the node made the request (ISO 8601, the node's clock: informative only)
// sig     Ed25519 by `key` over REQUEST_DOMAIN || canonicalJson(request without sig): proof that the
//         requester holds the private key it asks to enrol (domain-separated, docs/design-notes.md lesson 1).
// The bytes on the wire (MQTT payload, file on a USB stick) are the canonical JSON of the whole request.
import { canonicalJson } from '../ledger/canonical-json.ts';
import { verifyNative, type Signer } from '../ledger/crypto.ts';
import { EnrolError } from './errors.ts';
import { FieldReader, type NodeRole } from './fields.ts';

export const REQUEST_VERSION = 1;
export const REQUEST_DOMAIN = Buffer.from('gdo:enrol-request:v1\0', 'ascii');
/** Far above any real request (~500 bytes); a bound so a hostile file or payload is refused before parsing. */
export const MAX_REQUEST_BYTES = 4096;
const FIELDS = ['v', 'org', 'name', 'roles', 'key', 'kx', 'token', 'at', 'sig'] as const;

export interface EnrolmentRequest {
  v: 1;
  org: string;
  name: string;
  roles: NodeRole[];
  key: string;
  kx: string;
  token: string;
  at: string;
  sig: string;
}

export type UnsignedRequest = Omit<EnrolmentRequest, 'sig'>;

export function requestSigningBytes(r: UnsignedRequest): Buffer {
  const { v, org, name, roles, key, kx, token, at } = r;
  return Buffer.concat([REQUEST_DOMAIN, Buffer.from(canonicalJson({ v, org, name, roles, key, kx, token, at }), 'utf8')]);
}

export interface MakeRequestInput {
  org: string;
  name: string;
  roles: NodeRole[];
  signer: Signer; // the node's Ed25519 key
  kx: Buffer; // the node's X25519 public key
  token: string;
  at?: Date;
}

export function makeEnrolmentRequest(input: MakeRequestInput): EnrolmentRequest {
  const unsigned: UnsignedRequest = {
    v: REQUEST_VERSION, org: input.org, name: input.name, roles: [...input.roles], key: input.signer.publicKey.toString('hex'),
    kx: input.kx.toString('hex'), token: input.token, at: (input.at ?? new Date()).toISOString(),
  };
  // Checked before signing too: a node must never publish a request its admin would refuse as malformed.
  checkFields(unsigned, 'new enrolment request');
  return { ...unsigned, sig: input.signer.sign(requestSigningBytes(unsigned)).toString('hex') };
}

export function encodeEnrolmentRequest(r: EnrolmentRequest): Buffer {
  return Buffer.from(canonicalJson(r), 'utf8');
}

function checkFields(o: Record<string, unknown>, where: string): UnsignedRequest {
  const f: FieldReader = new FieldReader('ENROL_BAD_REQUEST', where);
  f.only(o, '', FIELDS);
  if (o.v !== REQUEST_VERSION) f.fail('v', `${REQUEST_VERSION}`, o.v);
  return {
    v: REQUEST_VERSION,
    org: f.hex(o.org, 'org', 32),
    name: f.name(o.name, 'name'),
    roles: f.roles(o.roles, 'roles'),
    key: f.hex(o.key, 'key', 32),
    kx: f.hex(o.kx, 'kx', 32),
    token: f.hex(o.token, 'token', 32),
    at: f.time(o.at, 'at'),
  };
}

/**
 * Parses and verifies a request from its bytes (a file or an MQTT payload): the format, then the signature
 * with the key the request names. It says nothing about whether the request should be approved: that
 * needs the admin's ledger and provisioning record (approve.ts).
 */
export function parseEnrolmentRequest(bytes: Buffer | string, where = 'enrolment request'): EnrolmentRequest {
  const buf = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  if (buf.length > MAX_REQUEST_BYTES) throw new EnrolError('ENROL_BAD_REQUEST', `${where}: ${buf.length} bytes, more than the ${MAX_REQUEST_BYTES} a request may have`);
  let value: unknown;
  try { value = JSON.parse(buf.toString('utf8')); } catch (err) {
    throw new EnrolError('ENROL_BAD_REQUEST', `${where}: not JSON (${(err as Error).message})`);
  }
  const f: FieldReader = new FieldReader('ENROL_BAD_REQUEST', where);
  const o = f.object(value, 'the request');
  const unsigned = checkFields(o, where);
  const sig = f.hex(o.sig, 'sig', 64);
  const ok = verifyNative(Buffer.from(unsigned.key, 'hex'), requestSigningBytes(unsigned), Buffer.from(sig, 'hex'));
  if (!ok) {
    throw new EnrolError('ENROL_BAD_SIGNATURE', `${where}: the signature does not verify with key ${unsigned.key.slice(0, 12)}: the request was altered or not made by that key`);
  }
  return { ...unsigned, sig };
}
