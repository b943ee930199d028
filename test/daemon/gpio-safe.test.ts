// `gdo gpio safe` from a cold process (systemd ExecStartPre/ExecStopPost): every output named in the
// config goes to its safe level, even when the file has errors elsewhere, because a typo must not leave a
// strike energised after a crash.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { gdo, readGpio, tempDir, writeJson } from './helpers.ts';

const t = tempDir();
after(() => t.dispose());

/** The state a crashed agent leaves: strike (17) and relay (27, active low: energised = low) on. */
function crashedBoard(file: string): void {
  writeJson(file, { lines: {
    17: { mode: 'output', level: 1, label: 'front.strike' },
    22: { mode: 'output', level: 1, label: 'front.led' },
    27: { mode: 'output', level: 0, label: 'laser.relay' },
  } });
}

it('forces every output safe, active-low ones high, and says which', () => {
  const gpioFile = join(t.dir, 'ok-gpio.json');
  crashedBoard(gpioFile);
  const config = writeJson(join(t.dir, 'ok.json'), {
    gpio: { backend: 'fake', fake_state_file: gpioFile },
    readers: [{ id: 'a', path: '/dev/null' }, { id: 'b', path: '/dev/null' }],
    doors: [{ id: 'front', reader: 'a', pins: { strike: { line: 17 }, led: { line: 22 } } }],
    machines: [{ id: 'laser', reader: 'b', pins: { relay: { line: 27, active_low: true } } }],
  });
  const r = gdo(['gpio', 'safe', '--config', config, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { safe: { name: string; level: number }[]; failed: unknown[] };
  assert.deepEqual(report.safe.map((o) => [o.name, o.level]), [['front.strike', 0], ['front.led', 0], ['laser.relay', 1]]);
  assert.deepEqual(report.failed, []);
  const lines = readGpio(gpioFile).lines;
  assert.deepEqual([lines['17']!.level, lines['22']!.level, lines['27']!.level], [0, 0, 1]);
});

it('still forces the readable pins of a broken block, warning about the error', () => {
  const gpioFile = join(t.dir, 'bad-gpio.json');
  crashedBoard(gpioFile);
  const config = writeJson(join(t.dir, 'bad.json'), {
    gpio: { backend: 'fake', fake_state_file: gpioFile },
    doors: [{ id: 'front', unlock_ms: 60_000, pins: { strike: { line: 17 } } }],
    some_future_key: true,
  });
  const r = gdo(['gpio', 'safe', '--config', config]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /^gdo: warning: config .*unlock_ms must be 500\.\.10000, got 60000$/m);
  assert.equal(readGpio(gpioFile).lines['17']!.level, 0);
});

it('fails with one line when the file cannot be read: no output can be named', () => {
  const r = gdo(['gpio', 'safe', '--config', join(t.dir, 'missing.json')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^gdo: cannot read .*missing\.json: ENOENT; no outputs could be named\n$/);
});

it('needs no GPIO chip when the node drives nothing (a hub, or a board without Pi GPIO)', () => {
  const config = writeJson(join(t.dir, 'hub.json'), {
    // onoff against a sysfs root that does not exist: opening the backend would fail.
    gpio: { backend: 'onoff' },
    sync: { broker: 'embedded' },
  });
  const r = gdo(['gpio', 'safe', '--config', config]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /no outputs configured/);
});
