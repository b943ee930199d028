// Enrolment over a real Mosquitto: the node publishes its request with the broker settings of its bootstrap
// (`gdo node request --publish`), the admin lists and approves it from the broker (`--broker URL`).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { runFirstboot } from '../../agent/enrol/firstboot.ts';
import { enrolmentState } from '../../agent/enrol/status.ts';
import { allDapps } from '../../agent/dapps.ts';
import { Ledger } from '../../agent/ledger/ledger.ts';
import { writeKeyFile } from '../../agent/cli/keyfile.ts';
import { provisionNode } from '../../provisioning/provision.ts';
import { startMosquitto, type MosquittoBroker } from '../helpers/mosquitto.ts';
import { foundOrg, gdoCli, tempDir, TEST_PASSPHRASE, type Org } from './helpers.ts';

const gdo = gdoCli;

describe('enrolment requests over MQTT', () => {
  const t = tempDir('broker');
  let broker: MosquittoBroker;
  let org: Org;
  let key = '';
  const state = join(t.dir, 'pi/var/lib/gdo');

  before(async () => {
    broker = await startMosquitto();
    org = foundOrg(join(t.dir));
    writeKeyFile(join(t.dir, 'operator.key'), org.adminPair, TEST_PASSPHRASE);
    mkdirSync(join(t.dir, 'pi/boot/firmware'), { recursive: true });
    await provisionNode({ ledger: org.ledger, dataDir: t.dir, name: 'laser', roles: ['machine'], broker: { url: broker.url, username: 'laser' }, target: join(t.dir, 'pi') });
    org.ledger.close();
    key = runFirstboot({ bootstrap: join(t.dir, 'pi/boot/firmware/gdo/bootstrap.json'), stateDir: state, config: join(t.dir, 'pi/etc/gdo/agent.json'), root: join(t.dir, 'pi') }).key;
  });
  after(async () => { await broker.stop(); t.cleanup(); });

  it('publishes, lists and approves through the broker', () => {
    const pub = gdo(['node', 'request', '--publish', '--state', state, '--json']);
    assert.equal(pub.code, 0, pub.stderr);
    assert.deepEqual(JSON.parse(pub.stdout), { published: broker.url, name: 'laser', key });

    const listed = gdo(['node', 'requests', '--broker', broker.url, '--data', t.dir, '--json', '--wait-ms', '500']);
    assert.equal(listed.code, 0, listed.stderr);
    const rows = JSON.parse(listed.stdout) as Array<{ name: string; key: string; ok: boolean; verdict: string }>;
    assert.deepEqual(rows.map((r) => [r.name, r.key, r.ok]), [['laser', key, true]]);
    assert.match(rows[0]?.verdict ?? '', /^ready: gdo node approve laser --broker mqtt:\/\/127\.0\.0\.1:\d+$/);

    const none = gdo(['node', 'approve', 'drill', '--broker', broker.url, '--data', t.dir, '--wait-ms', '300']);
    assert.equal(none.code, 3);
    assert.match(none.stderr, /no enrolment request from 'drill' on mqtt:/);

    const ok = gdo(['node', 'approve', 'laser', '--broker', broker.url, '--data', t.dir, '--key', join(t.dir, 'operator.key'), '--json', '--wait-ms', '500']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { key: string }).key, key);
    const l = Ledger.open({ path: join(t.dir, 'ledger.db'), dapps: allDapps });
    try { assert.equal(enrolmentState(l, key).state, 'enrolled'); } finally { l.close(); }
  });
});

