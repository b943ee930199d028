// The enrolment request format (agent/enrol/request.ts): what a node signs, what an admin verifies, and a
// clear error for every way a request can be malformed or forged.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../../agent/ledger/canonical-json.ts';
import { verifyNative } from '../../agent/ledger/crypto.ts';
import {
  encodeEnrolmentRequest, makeEnrolmentRequest, parseEnrolmentRequest, REQUEST_DOMAIN, type EnrolmentRequest,
} from '../../agent/enrol/request.ts';
import { generateKxKeyPair } from '../../agent/enrol/x25519.ts';
import { signerFor, expectError } from './helpers.ts';

const node = signerFor('node front-door');
const kx = generateKxKeyPair();
const org = '0f'.repeat(32);
const token = '5a'.repeat(32);

function make(over: Partial<Parameters<typeof makeEnrolmentRequest>[0]> = {}): EnrolmentRequest {
  return makeEnrolmentRequest({ org, name: 'front-door', roles: ['door'], signer: node, kx: kx.publicKey, token, at: new Date('2025-03-01T10:00:00Z'), ...over });
}

/** The wire bytes of a request with fields changed after signing (what a forger would send). */
function altered(r: EnrolmentRequest, change: Record<string, unknown>): Buffer {
  return Buffer.from(JSON.stringify({ ...r, ...change }));
}

describe('enrolment request', () => {
  it('round-trips through its canonical bytes with every field', () => {
    const r = make();
    const bytes = encodeEnrolmentRequest(r);
    assert.equal(bytes.toString('utf8'), canonicalJson(r));
    assert.deepEqual(parseEnrolmentRequest(bytes), r);
    assert.deepEqual(Object.keys(r).sort(), ['at', 'key', 'kx', 'name', 'org', 'roles', 'sig', 'token', 'v']);
    assert.equal(r.v, 1);
    assert.equal(r.key, node.publicKey.toString('hex'));
    assert.equal(r.kx, kx.publicKey.toString('hex'));
    assert.equal(r.at, '2025-03-01T10:00:00.000Z');
  });

  it('is signed over the domain tag and the canonical JSON without sig', () => {
    const r = make();
    const { sig, ...unsigned } = r;
    const msg = Buffer.concat([REQUEST_DOMAIN, Buffer.from(canonicalJson(unsigned))]);
    assert.ok(verifyNative(node.publicKey, msg, Buffer.from(sig, 'hex')));
    // Without the domain tag the same signature must not verify: it is not a signature on bare JSON.
    assert.ok(!verifyNative(node.publicKey, Buffer.from(canonicalJson(unsigned)), Buffer.from(sig, 'hex')));
  });

  it('accepts the same request pretty-printed (verification re-canonicalises)', () => {
    const r = make();
    assert.deepEqual(parseEnrolmentRequest(JSON.stringify(r, null, 2)), r);
  });

  it('refuses any field changed after signing, and a signature by another key', () => {
    const r = make();
    for (const change of [{ name: 'back-door' }, { roles: ['door', 'machine'] }, { token: '5b'.repeat(32) }, { kx: generateKxKeyPair().publicKey.toString('hex') }, { at: '2025-03-02T10:00:00.000Z' }, { org: '0e'.repeat(32) }]) {
      expectError('ENROL_BAD_SIGNATURE', /the signature does not verify with key [0-9a-f]{12}/, () => parseEnrolmentRequest(altered(r, change)));
    }
    const thief = signerFor('thief');
    expectError('ENROL_BAD_SIGNATURE', /does not verify/, () => parseEnrolmentRequest(altered(r, { key: thief.publicKey.toString('hex') })));
    const forged = make({ signer: thief });
    expectError('ENROL_BAD_SIGNATURE', /does not verify/, () => parseEnrolmentRequest(altered(forged, { key: node.publicKey.toString('hex') })));
  });

  it('names the field that breaks the format', () => {
    const r = make();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ v: 2 }, /v must be 1, got 2/],
      [{ org: 'xyz' }, /org must be 64 lowercase hex characters \(32 bytes\), got "xyz"/],
      [{ name: 'Front Door' }, /name must be a hostname-like node name/],
      [{ roles: [] }, /roles must be a list of 1 to 3 roles \(door, machine, hub\)/],
      [{ roles: ['door', 'door'] }, /roles must be a list without repeats/],
      [{ roles: ['admin'] }, /roles\[\] must be one of door, machine, hub, got "admin"/],
      [{ key: 'ab' }, /key must be 64 lowercase hex/],
      [{ kx: undefined }, /kx must be 64 lowercase hex characters \(32 bytes\), got nothing/],
      [{ token: 42 }, /token must be 64 lowercase hex characters \(32 bytes\), got 42/],
      [{ at: 'yesterday' }, /at must be an ISO 8601 UTC time/],
      [{ sig: 'ab'.repeat(10) }, /sig must be 128 lowercase hex characters/],
      [{ extra: true }, /unknown field extra/],
    ];
    for (const [change, pattern] of cases) expectError('ENROL_BAD_REQUEST', pattern, () => parseEnrolmentRequest(altered(r, change), 'req.json'));
    expectError('ENROL_BAD_REQUEST', /^req\.json: not JSON/, () => parseEnrolmentRequest('{"v":1', 'req.json'));
    expectError('ENROL_BAD_REQUEST', /the request must be a JSON object, got \[1\]/, () => parseEnrolmentRequest('[1]'));
    expectError('ENROL_BAD_REQUEST', /5000 bytes, more than the 4096/, () => parseEnrolmentRequest(Buffer.alloc(5000, 0x20)));
  });

  it('refuses to make a request its admin would refuse', () => {
    expectError('ENROL_BAD_REQUEST', /name must be a hostname-like node name/, () => make({ name: '-bad' }));
    expectError('ENROL_BAD_REQUEST', /token must be 64 lowercase hex/, () => make({ token: 'short' }));
  });
});
