// The supervisor keeps the agent running around a failing part: the failure is reported and retried with
// backoff, the other parts keep running, dependents are stopped and started again with their dependency.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { FakeClock } from '../../drivers/gpio/fake-clock.ts';
import { createLogger } from '../../agent/daemon/log.ts';
import { Supervisor, type Part, type PartHealth } from '../../agent/daemon/supervisor.ts';

const quiet = () => createLogger({ level: 'fatal', destination: new Writable({ write(_c, _e, cb) { cb(); } }) });
const settle = async (): Promise<void> => { for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); };

class TestPart implements Part {
  starts = 0;
  stops = 0;
  failStarts = 0;
  healthState: PartHealth = { state: 'ok' };
  running = false;
  report: ((err: unknown) => void) | undefined;
  constructor(readonly name: string, readonly deps: string[] = [], private readonly journal: string[] = []) {}
  start(report: (err: unknown) => void): void {
    this.starts += 1;
    this.journal.push(`start ${this.name}`);
    if (this.failStarts > 0) { this.failStarts -= 1; throw new Error(`${this.name} cannot start`); }
    this.report = report;
    this.running = true;
  }
  stop(): void { this.stops += 1; this.journal.push(`stop ${this.name}`); this.running = false; }
  health(): PartHealth { return this.running ? this.healthState : { state: 'failed', detail: 'not running' }; }
}

function rig(parts: TestPart[]) {
  const clock = new FakeClock();
  const changes: string[] = [];
  const sup = new Supervisor({ parts, log: quiet(), clock, checkMs: 1000, retryInitialMs: 1000, retryMaxMs: 8000, stableMs: 30_000,
    onChange: (s) => changes.push(`${s.name}:${s.state}`) });
  const advance = async (ms: number): Promise<void> => { clock.advance(ms); await settle(); };
  return { clock, sup, changes, advance };
}

describe('supervisor', () => {
  it('retries a part that fails to start with growing delays while the others run', async () => {
    const a = new TestPart('a');
    const b = new TestPart('b');
    b.failStarts = 3;
    const c = new TestPart('c');
    const { sup, advance } = rig([a, b, c]);
    await sup.start();
    await settle();
    assert.equal(sup.state('a'), 'ok');
    assert.equal(sup.state('b'), 'failed');
    assert.equal(sup.state('c'), 'ok', 'a part after the failed one still starts');
    assert.equal(sup.status().find((s) => s.name === 'b')!.last_error, 'b cannot start');
    await advance(999);
    assert.equal(b.starts, 1, 'not before the first delay');
    await advance(1);
    assert.equal(b.starts, 2, 'retried after 1 s');
    await advance(1999);
    assert.equal(b.starts, 2);
    await advance(1);
    assert.equal(b.starts, 3, 'then after 2 s');
    await advance(4000);
    assert.equal(b.starts, 4, 'then after 4 s, and this time it starts');
    assert.equal(sup.state('b'), 'ok');
    assert.equal(sup.status().find((s) => s.name === 'b')!.restarts, 3);
    assert.equal(a.stops + c.stops, 0, 'the others never stopped');
  });

  it('restarts a part whose health check fails, and its dependents with it', async () => {
    const journal: string[] = [];
    const ledger = new TestPart('ledger', [], journal);
    const access = new TestPart('access', ['ledger'], journal);
    const http = new TestPart('http', [], journal);
    const { sup, advance } = rig([ledger, access, http]);
    await sup.start();
    journal.length = 0;
    ledger.healthState = { state: 'failed', detail: 'database file replaced' };
    await advance(1000);
    assert.equal(sup.state('ledger'), 'failed');
    assert.equal(sup.state('access'), 'waiting');
    assert.deepEqual(journal, ['stop access', 'stop ledger'], 'the dependent stops first');
    assert.equal(sup.state('http'), 'ok');
    ledger.healthState = { state: 'ok' };
    await advance(1000);
    assert.equal(sup.state('ledger'), 'ok');
    assert.equal(sup.state('access'), 'ok', 'the dependent came back with it');
    assert.deepEqual(journal.slice(2), ['start ledger', 'start access']);
  });

  it('reports a degraded part without restarting it', async () => {
    const reader = new TestPart('reader');
    const { sup, advance, changes } = rig([reader]);
    await sup.start();
    reader.healthState = { state: 'degraded', detail: 'disconnected' };
    await advance(1000);
    assert.equal(sup.state('reader'), 'degraded');
    assert.equal(sup.status()[0]!.detail, 'disconnected');
    reader.healthState = { state: 'ok' };
    await advance(1000);
    assert.equal(sup.state('reader'), 'ok');
    assert.equal(reader.starts, 1);
    assert.deepEqual(changes.slice(-2), ['reader:degraded', 'reader:ok']);
  });

  it('takes a failure reported by a running part and ignores reports from an older run', async () => {
    const http = new TestPart('http');
    const { sup, advance } = rig([http]);
    await sup.start();
    const oldReport = http.report!;
    oldReport(new Error('EADDRINUSE'));
    await settle();
    assert.equal(sup.state('http'), 'failed');
    await advance(1000);
    assert.equal(sup.state('http'), 'ok');
    oldReport(new Error('late echo of the first failure'));
    await settle();
    assert.equal(sup.state('http'), 'ok', 'a report from the previous run changes nothing');
  });

  it('stops everything in reverse order and retries nothing afterwards', async () => {
    const journal: string[] = [];
    const a = new TestPart('a', [], journal);
    const b = new TestPart('b', ['a'], journal);
    const c = new TestPart('c', [], journal);
    c.failStarts = 5;
    const { sup, advance, clock } = rig([a, b, c]);
    await sup.start();
    journal.length = 0;
    await sup.stopAll();
    assert.deepEqual(journal, ['stop b', 'stop a'], 'reverse order; c failed and was stopped then');
    await advance(60_000);
    assert.equal(c.starts, 1, 'no retry after stop');
    assert.equal(clock.pending(), 0, 'no timer left behind');
  });

  it('refuses a dependency that is not listed before the part', () => {
    assert.throws(() => new Supervisor({ parts: [new TestPart('b', ['a']), new TestPart('a')], log: quiet() }), /depends on 'a'/);
  });
});
