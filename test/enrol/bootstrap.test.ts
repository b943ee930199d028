// The bootstrap format (agent/enrol/bootstrap.ts): what provisioning writes and first boot accepts.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { encodeBootstrap, parseBootstrap, validateBootstrap } from '../../agent/enrol/bootstrap.ts';
import { bootstrapFor, foundOrg, tempDir, expectError } from './helpers.ts';

describe('bootstrap', () => {
  const t = tempDir('bootstrap');
  const org = foundOrg(t.dir);
  after(() => { org.ledger.close(); t.cleanup(); });

  it('round-trips and holds no private key', () => {
    const b = bootstrapFor(org, { wifi: { ssid: 'Makerspace', psk: 'correct horse', country: 'GB' } });
    const bytes = encodeBootstrap(b);
    assert.deepEqual(parseBootstrap(bytes, 'b.json'), b);
    assert.doesNotMatch(bytes.toString(), /private|seed|secretKey/i);
  });

  it('checks that the genesis is the org it names', () => {
    const other = tempDir('bootstrap-other');
    const o2 = foundOrg(other.dir, 'admin2', 'Other Space');
    try {
      expectError('ENROL_WRONG_ORG', /the genesis event is [0-9a-f]{12}, not the org [0-9a-f]{12}/,
        () => validateBootstrap({ ...bootstrapFor(org), genesis: o2.genesis.toString('hex') }, 'b.json'));
    } finally { o2.ledger.close(); other.cleanup(); }
    expectError('ENROL_BAD_BOOTSTRAP', /genesis does not decode as a ledger event/, () => validateBootstrap({ ...bootstrapFor(org), genesis: 'abcd' }, 'b.json'));
  });

  it('names the bad field', () => {
    const good = bootstrapFor(org);
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ v: 0 }, /v must be 1/],
      [{ node: { ...good.node, hostname: 'Bad_Host' } }, /node\.hostname must be a hostname/],
      [{ node: { ...good.node, roles: ['gate'] } }, /node\.roles\[\] must be one of door, machine, hub/],
      [{ node: { ...good.node, extra: 1 } }, /unknown field node\.extra/],
      [{ broker: { url: 'http://hub' } }, /broker\.url must be an mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/ URL/],
      [{ wifi: { ssid: 'x', psk: 'short' } }, /wifi\.psk must be a WPA passphrase of 8 to 63 printable ASCII characters/],
      [{ wifi: { ssid: 'x', psk: 'long enough', country: 'gb' } }, /wifi\.country must be a two-letter country code/],
      [{ site: [1] }, /site must be a JSON object/],
      [{ token: undefined }, /token must be 64 lowercase hex characters \(32 bytes\), got nothing/],
      [{ provisionedAt: 'now' }, /provisionedAt must be an ISO 8601 UTC time/],
    ];
    for (const [change, pattern] of cases) expectError('ENROL_BAD_BOOTSTRAP', pattern, () => validateBootstrap({ ...good, ...change }, 'b.json'));
    expectError('ENROL_BAD_BOOTSTRAP', /^b\.json: not JSON/, () => parseBootstrap(Buffer.from('{'), 'b.json'));
  });
});
