// `gdo ledger import` of a bundle whose good events are followed by a bad one (issue 13, item 7):
// the CLI, as a process, names the rejected event and its code, exits 3 and imports nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { allDapps } from '../../agent/dapps.ts';
import { readBundle, writeBundle } from '../../agent/ledger/bundle.ts';
import { Signer } from '../../agent/ledger/crypto.ts';
import { decodeEvent, hex, type SignedEvent } from '../../agent/ledger/event.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { readKeyFile } from '../../agent/cli/keyfile.ts';
import { gdo, json, PASSPHRASE, refused, tempDir } from '../cli/helpers.ts';

interface Crafted { org: Buffer; genesis: Buffer; good: SignedEvent; badSig: Buffer; ahead: SignedEvent }

/** A site's ledger `a` at genesis copied to replica `b`, then one member added on `a`, and two bad next events. */
function craft(dir: string): Crafted {
  const a = join(dir, 'a');
  assert.equal(gdo(['init', '--data', a, '--name', 'Import Lab', '--tz', 'UTC']).code, 0);
  cpSync(a, join(dir, 'b'), { recursive: true });
  json(gdo(['member', 'add', 'alice', '--name', 'Alice', '--groups', 'members', '--data', a, '--json']), 'member add');
  const l = Ledger.open({ path: join(a, 'ledger.db'), dapps: allDapps });
  try {
    const { org, events } = readBundle(writeBundle(l.orgId!, l.events()));
    assert.equal(events.length, 2);
    const good = decodeEvent(events[1]!);
    const signer = new Signer(readKeyFile(join(a, 'operator.key'), PASSPHRASE));
    const after = { prev: good.id, seq: good.seq, hlc: good.hlc };
    const body = { ...(good.body as Record<string, unknown>), id: 'bob', name: 'Bob' };
    const next = l.build(signer, good.dapp, good.type, body, { after });
    const badSig = Buffer.from(next.raw);
    badSig[badSig.length - 1]! ^= 1; // the last byte is the signature's
    const ahead = l.build(signer, good.dapp, good.type, body, { after, now: Date.now() + 3_600_000 });
    return { org, genesis: events[0]!, good, badSig, ahead };
  } finally { l.close(); }
}

function eventCount(data: string): number {
  return json<{ events: number }>(gdo(['ledger', 'export', '--data', data, '--out', join(data, 'check.bundle'), '--json']), 'export').events;
}

test('gdo ledger import: a good event then a bad one is refused by code and event, exit 3, nothing imported', () => {
  const { dir, cleanup } = tempDir('import-bad');
  try {
    const c = craft(dir);
    const b = join(dir, 'b');
    const sigFile = join(dir, 'bad-sig.bundle');
    writeFileSync(sigFile, writeBundle(c.org, [c.genesis, c.good.raw, c.badSig]));
    const aheadFile = join(dir, 'ahead.bundle');
    writeFileSync(aheadFile, writeBundle(c.org, [c.genesis, c.good.raw, c.ahead.raw]));

    refused(gdo(['ledger', 'import', sigFile, '--data', b]), 3,
      /^gdo: BAD_SIGNATURE: event 3 of 3 \([0-9a-f]{12}\) rejected: signature of event [0-9a-f]{12} does not verify .*; nothing was imported$/);
    assert.equal(eventCount(b), 1, 'the good event before the bad one was not imported either');

    const r = gdo(['ledger', 'import', aheadFile, '--data', b, '--json']);
    assert.equal(r.code, 3, r.stderr);
    const doc = JSON.parse(r.stdout) as { error: { code: string; message: string }; exit: number };
    assert.equal(doc.error.code, 'FROM_FUTURE');
    assert.equal(doc.exit, 3);
    assert.ok(doc.error.message.includes(`event 3 of 3 (${hex(c.ahead.id).slice(0, 12)})`), doc.error.message);
    assert.match(doc.error.message, /ahead of this node's clock.*nothing was imported/);
    assert.equal(eventCount(b), 1);

    // The good part alone imports: the refusals left the replica as it was.
    const goodFile = join(dir, 'good.bundle');
    writeFileSync(goodFile, writeBundle(c.org, [c.genesis, c.good.raw]));
    const ok = json<{ accepted: number; duplicate: number }>(gdo(['ledger', 'import', goodFile, '--data', b, '--json']), 'import');
    assert.deepEqual([ok.accepted, ok.duplicate], [1, 1]);
    assert.equal(eventCount(b), 2);
  } finally { cleanup(); }
});
