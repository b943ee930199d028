// The offline clock's file (agent/daemon/offline-clock.ts) in one process with a hand-driven clock: what a
// missing, corrupt or future record means, the write rate an SD card can take, and the clean stop's write.
// The real path (a gdo agent restarted as a new process while cut off) is offline-clock-process.test.ts.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, it } from 'node:test';
import { createLogger } from '../../agent/daemon/log.ts';
import { OFFLINE_CLOCK_FILE, OfflineClock } from '../../agent/daemon/offline-clock.ts';
import { tempDir } from './helpers.ts';

const t = tempDir('gdo-offline-clock-');
after(() => t.dispose());

const T0 = Date.parse('2026-12-01T10:00:00Z');
const MIN = 60_000;
let n = 0;

function setup(opts: { file?: string; tolerance?: number } = {}) {
  const dir = join(t.dir, `s${n++}`);
  mkdirSync(dir);
  if (opts.file !== undefined) writeFileSync(join(dir, OFFLINE_CLOCK_FILE), opts.file);
  const lines: { level: string; msg: string }[] = [];
  const log = createLogger({ level: 'info', destination: new Writable({ write(c: Buffer, _e, cb) { lines.push(JSON.parse(c.toString()) as { level: string; msg: string }); cb(); } }) });
  const env = { now: T0, live: null as number | null };
  const clock = new OfflineClock({ stateDir: dir, log, toleranceMs: 2 * MIN, live: () => env.live, now: () => env.now });
  const saved = (): unknown => JSON.parse(readFileSync(join(dir, OFFLINE_CLOCK_FILE), 'utf8'));
  return { dir, clock, env, lines, saved };
}

const record = (sinceMs: number, kind = 'peer'): string => `${JSON.stringify({ format: 'gdo-offline-clock-v1', since_ms: sinceMs, kind })}\n`;

it('no file: counts from the first start, and a later start keeps counting from it', () => {
  const a = setup();
  a.clock.load();
  a.clock.tick();
  assert.equal(a.clock.since(), T0);
  assert.deepEqual(a.saved(), { format: 'gdo-offline-clock-v1', since_ms: T0, kind: 'first-start' });
  assert.ok(a.lines.some((l) => l.level === 'info' && /no record of a last contact; counting from now/.test(l.msg)));
  const b = new OfflineClock({ stateDir: a.dir, log: createLogger({ level: 'fatal' }), toleranceMs: 2 * MIN, live: () => null, now: () => T0 + 30 * MIN });
  b.load();
  assert.equal(b.since(), T0, 'a reboot without any contact does not restart the count');
  assert.equal(b.status().kind, 'first-start');
});

it('a saved contact is the one counted after a restart; sync\'s newer contact replaces it', () => {
  const s = setup({ file: record(T0 - 10 * MIN) });
  s.clock.load();
  assert.equal(s.clock.since(), T0 - 10 * MIN);
  assert.deepEqual([s.clock.status().source, s.clock.status().last_contact], ['saved', new Date(T0 - 10 * MIN).toISOString()]);
  s.env.live = T0 + 1000;
  assert.equal(s.clock.since(), T0 + 1000);
  assert.equal(s.clock.status().source, 'sync');
});

for (const [what, text] of [
  ['not JSON', '{"format": "gdo-offline-clo'],
  ['another format', JSON.stringify({ format: 'x', since_ms: T0, kind: 'peer' })],
  ['a time that is no number', JSON.stringify({ format: 'gdo-offline-clock-v1', since_ms: '2026-12-01', kind: 'peer' })],
  ['an unknown kind', JSON.stringify({ format: 'gdo-offline-clock-v1', since_ms: T0, kind: 'guess' })],
] as const) {
  it(`a corrupt file (${what}): the last contact is unknown until a peer is reached, and the file is left as it is`, () => {
    const s = setup({ file: text });
    s.clock.load();
    s.clock.tick();
    assert.equal(s.clock.since(), null);
    assert.deepEqual([s.clock.status().kind, s.clock.status().since], ['unknown', null]);
    assert.ok(s.lines.some((l) => l.level === 'error' && /is not a valid record; last contact unknown, the offline policy applies/.test(l.msg)), JSON.stringify(s.lines));
    assert.equal(readFileSync(join(s.dir, OFFLINE_CLOCK_FILE), 'utf8'), text);
    s.env.live = T0 + 5000;
    assert.equal(s.clock.since(), T0 + 5000, 'a peer\'s contact ends the unknown');
    s.clock.tick();
    assert.deepEqual(s.saved(), { format: 'gdo-offline-clock-v1', since_ms: T0 + 5000, kind: 'peer' });
  });
}

it('a saved time ahead of the clock: within the tolerance it counts as now, beyond it is not believed', () => {
  const near = setup({ file: record(T0 + MIN) });
  near.clock.load();
  assert.equal(near.clock.since(), T0);
  const far = setup({ file: record(T0 + 3 * MIN) });
  far.clock.load();
  assert.equal(far.clock.since(), null);
  assert.ok(far.lines.some((l) => l.level === 'error' && /the saved time is in the future/.test(l.msg)));
});

it('writes at most once a minute while contacts keep coming, and the newest on a clean stop', () => {
  const s = setup({ file: record(T0 - MIN) });
  s.clock.load();
  s.env.live = T0;
  s.clock.tick();
  assert.equal((s.saved() as { since_ms: number }).since_ms, T0, 'the first contact of a run is saved at once');
  for (let i = 1; i <= 11; i++) {
    s.env.now = T0 + i * 5000;
    s.env.live = s.env.now;
    s.clock.tick();
  }
  assert.equal((s.saved() as { since_ms: number }).since_ms, T0, 'not rewritten within the minute');
  s.env.now = T0 + MIN;
  s.env.live = s.env.now;
  s.clock.tick();
  assert.equal((s.saved() as { since_ms: number }).since_ms, T0 + MIN, 'rewritten once the minute is up');
  s.env.now = T0 + MIN + 2000;
  s.env.live = s.env.now;
  s.clock.tick();
  assert.equal((s.saved() as { since_ms: number }).since_ms, T0 + MIN);
  s.clock.stop();
  assert.equal((s.saved() as { since_ms: number }).since_ms, T0 + MIN + 2000, 'a clean stop saves the newest contact');
  assert.deepEqual(readdirSync(s.dir), [OFFLINE_CLOCK_FILE], 'no temporary file left');
});

it('a state directory that cannot be written: a warning, the clock keeps counting in memory', () => {
  const s = setup();
  const gone = new OfflineClock({ stateDir: join(s.dir, 'missing'), log: createLogger({ level: 'fatal' }), toleranceMs: 0, live: () => s.env.live, now: () => s.env.now });
  gone.load();
  s.env.live = T0 + 1;
  gone.tick();
  assert.equal(gone.since(), T0 + 1);
  assert.equal(gone.status().saved_at, undefined);
});
