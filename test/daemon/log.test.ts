// Log lines never carry badge ids or secrets: pino's redact paths for the keys the agent logs, and the
// scrubbing formatter for anything nested or a stray Buffer.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, REDACTED, scrub } from '../../agent/daemon/log.ts';
import { UID, uidForms } from './helpers.ts';

function capture(level: 'info' | 'debug' = 'info') {
  const lines: string[] = [];
  const stream = new Writable({ write(chunk: Buffer, _enc, cb) { lines.push(chunk.toString()); cb(); } });
  const log = createLogger({ level, destination: stream });
  return { log, text: () => lines.join(''), json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('agent log redaction', () => {
  it('redacts known keys at the top level and one level down', () => {
    const c = capture();
    c.log.info({ uid: UID.toString('hex'), password: 'hunter2', req: { token: 'tok-123', credential: 'abc' } }, 'x');
    const [line] = c.json();
    assert.equal(line!['uid'], REDACTED);
    assert.equal(line!['password'], REDACTED);
    assert.deepEqual(line!['req'], { token: REDACTED, credential: REDACTED });
    for (const s of ['hunter2', 'tok-123', ...uidForms(UID)]) assert.equal(c.text().includes(s), false, s);
  });

  it('scrubs nested secrets, Buffers (a UID) and the properties of errors', () => {
    const c = capture();
    const err = Object.assign(new Error('reader failed'), { card: { uid: UID }, seed: 'deadbeefseed' });
    c.log.warn({ a: { b: { c: { uid: UID.toString('hex'), private_key: 'pk-1' } } }, frame: UID, err }, 'nested');
    const text = c.text();
    for (const s of ['pk-1', 'deadbeefseed', ...uidForms(UID)]) assert.equal(text.includes(s), false, s);
    const [line] = c.json();
    assert.equal(line!['frame'], `[${UID.length} bytes]`);
    assert.equal((line!['err'] as { message: string }).message, 'reader failed', 'the error itself stays readable');
    assert.match(text, /"msg":"nested"/);
  });

  it('keeps what operators need: member ids, reasons, resources', () => {
    const c = capture();
    c.log.info({ event: 'door.access', decision: { resource: 'door:front', allow: false, reason: 'unknown_badge', member_id: 'm-1' } }, 'deny');
    const [line] = c.json();
    assert.deepEqual(line!['decision'], { resource: 'door:front', allow: false, reason: 'unknown_badge', member_id: 'm-1' });
  });

  it('scrub() leaves plain values alone and copies instead of mutating', () => {
    const input = { uid: 'x', n: 1, list: [{ secret: 's' }, 2] };
    const out = scrub(input) as typeof input;
    assert.deepEqual(out, { uid: REDACTED, n: 1, list: [{ secret: REDACTED }, 2] });
    assert.equal(input.uid, 'x');
  });

  it('respects the level', () => {
    const c = capture('info');
    c.log.debug('hidden');
    c.log.info('shown');
    assert.deepEqual(c.json().map((l) => l['msg']), ['shown']);
    assert.equal(c.json()[0]!['level'], 'info');
  });
});
