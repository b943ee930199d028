// X.509 v3 certificates for the site CA (RFC 5280 section 4.1), ECDSA P-256 with SHA-256 (RFC 5758 3.2,
// RFC 5480), encoded with der.ts and signed with node:crypto. Two templates only: the CA itself and a TLS
// server certificate for a broker.
import { createHash, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import {
  bitStringBytes, bool, children, explicit, implicitPrimitive, namedBits, octets, oid, readElement, seq, set,
  time, uint, utf8,
} from './der.ts';

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  organizationName: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
} as const;

// KeyUsage bit numbers (RFC 5280 4.2.1.3).
const KU = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

/** Name ::= SEQUENCE OF RelativeDistinguishedName, one attribute per RDN (RFC 5280 4.1.2.4). */
export function name(attrs: { commonName: string; organizationName?: string }): Buffer {
  const rdns: Buffer[] = [];
  if (attrs.organizationName !== undefined) rdns.push(set(seq(oid(OID.organizationName), utf8(attrs.organizationName))));
  rdns.push(set(seq(oid(OID.commonName), utf8(attrs.commonName))));
  return seq(...rdns);
}

/** The raw public key bits of an EC key (the uncompressed point, SEC 1 2.3.3), taken from its SPKI. */
function publicKeyBits(spkiDer: Buffer): Buffer {
  const top = readElement(spkiDer, 0);
  const bits = children(spkiDer, top)[1]!;
  return spkiDer.subarray(bits.contentStart + 1, bits.end); // skip the unused-bits byte
}

/** Key identifier method (1) of RFC 5280 4.2.1.2: SHA-1 of the subjectPublicKey bits. */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha1').update(publicKeyBits(spki)).digest();
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return critical ? seq(oid(id), bool(true), octets(value)) : seq(oid(id), octets(value));
}

/** 4 or 16 address bytes for an iPAddress GeneralName (RFC 5280 4.2.1.6). */
export function ipBytes(ip: string): Buffer {
  if (isIPv4(ip)) return Buffer.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) throw new Error(`${JSON.stringify(ip)} is not an IPv4 or IPv6 address`);
  let text = ip;
  const tail: number[] = [];
  const v4 = /:(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) { // ::ffff:10.0.0.2: the last 32 bits written as IPv4
    tail.push(...v4[1]!.split('.').map(Number));
    text = `${text.slice(0, v4.index)}:0:0`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const h = groups(head);
  const r = rest === undefined ? [] : groups(rest);
  const all = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  if (tail.length === 4) Buffer.from(tail).copy(out, 12);
  return out;
}

export interface CertTemplate {
  subject: Buffer; // a DER Name
  issuer: Buffer;
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  authorityKeyId: Buffer;
  dnsNames?: readonly string[];
  ipAddresses?: readonly string[];
}

/** A DER certificate for `t`, signed by `issuerKey`. Serial numbers are 16 random bytes, positive (RFC 5280
 *  4.1.2.2: unique per CA, at most 20 octets); the top bit is cleared and the next one set so the encoding
 *  is always 16 bytes long. */
export function buildCertificate(t: CertTemplate, issuerKey: KeyObject): Buffer {
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  const algorithm = seq(oid(OID.ecdsaWithSha256)); // parameters absent (RFC 5758 3.2)
  const spki = t.publicKey.export({ type: 'spki', format: 'der' });
  const exts: Buffer[] = [];
  if (t.ca) {
    exts.push(extension(OID.basicConstraints, true, seq(bool(true), uint(0)))); // cA, pathLenConstraint 0
    exts.push(extension(OID.keyUsage, true, namedBits([KU.keyCertSign, KU.cRLSign])));
  } else {
    exts.push(extension(OID.basicConstraints, true, seq())); // cA FALSE is the DEFAULT, so omitted (DER)
    // ECDHE-ECDSA handshakes sign with the certificate's key: digitalSignature (RFC 5280 4.2.1.3).
    exts.push(extension(OID.keyUsage, true, namedBits([KU.digitalSignature])));
    exts.push(extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))));
    const alt = [
      ...(t.dnsNames ?? []).map((d) => implicitPrimitive(2, Buffer.from(d, 'ascii'))), // dNSName [2] IA5String
      ...(t.ipAddresses ?? []).map((ip) => implicitPrimitive(7, ipBytes(ip))), // iPAddress [7] OCTET STRING
    ];
    // The names are the identity (RFC 6125 6.4.4: CN is not looked at when a SAN is present), so critical
    // is not needed; the subject is not empty (RFC 5280 4.2.1.6).
    exts.push(extension(OID.subjectAltName, false, seq(...alt)));
  }
  exts.push(extension(OID.subjectKeyIdentifier, false, octets(keyIdentifier(t.publicKey))));
  exts.push(extension(OID.authorityKeyIdentifier, false, seq(implicitPrimitive(0, t.authorityKeyId))));
  const tbs = seq(
    explicit(0, uint(2)), // v3
    uint(serial),
    algorithm,
    t.issuer,
    seq(time(t.notBefore), time(t.notAfter)),
    t.subject,
    spki,
    explicit(3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, { key: issuerKey, dsaEncoding: 'der' });
  return seq(tbs, algorithm, bitStringBytes(signature));
}

/** The subject Name of a DER certificate, byte for byte (the issuer of what it signs, RFC 5280 4.1.2.4). */
export function subjectOf(certDer: Buffer): Buffer {
  const cert = readElement(certDer, 0);
  const tbs = children(certDer, cert)[0]!;
  const fields = children(certDer, tbs);
  const offset = fields[0]!.tag === 0xa0 ? 1 : 0; // version is optional (v1)
  const subject = fields[offset + 4]!;
  return certDer.subarray(subject.start, subject.end);
}

export function toPem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}
