// Outputs safe across real process boundaries, on a sysfs-like directory whose values outlive a process
// the way /sys/class/gpio does: a door agent is stopped with SIGTERM, dies of an uncaught exception or an
// unhandled rejection, or is SIGKILLed (which no handler sees), and a cold `gdo gpio safe`-like process
// that has only the config then forces the outputs safe.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { safeOutputsFromConfig } from '../../agent/controllers/safe-outputs.ts';
import { SysfsSim } from '../drivers/gpio/sysfs-sim.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

// Pi 4 numbering (base 512): strike BCM 17 -> 529, LED 22 -> 534, buzzer 23 -> 535, relay 24 -> 536.
const CONFIG = {
  doors: [{ id: 'front', unlock_ms: 10_000, pins: { strike: { line: 17 }, led: { line: 22 }, buzzer: { line: 23 } } }],
  machines: [{ id: 'lathe', pins: { relay: { line: 24 } } }],
};

function scene(config: unknown = CONFIG): { root: string; configPath: string; sim: SysfsSim } {
  const dir = mkdtempSync(join(tmpdir(), 'gdo-proc-'));
  dirs.push(dir);
  const root = join(dir, 'gpio');
  const sim = new SysfsSim(undefined, root);
  const configPath = join(dir, 'node.json');
  writeFileSync(configPath, JSON.stringify(config));
  return { root, configPath, sim };
}

interface Run { code: number | null; signal: NodeJS.Signals | null; stdout: string }

/** Starts a fixture; `onEnergised` runs once it printed "energised". */
function run(script: string, args: string[], onEnergised?: (kill: (s: NodeJS.Signals) => void) => void): Promise<Run> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(here, 'fixtures', script), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  child.stdout.on('data', (c: Buffer) => {
    const first = !stdout.includes('energised');
    stdout += c.toString();
    if (first && stdout.includes('energised')) onEnergised?.((s) => child.kill(s));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`${script} hung: ${stderr}`)); }, 30_000);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout }); });
  });
}

void describe('outputs safe when the agent process goes away', () => {
  void it('SIGTERM, an uncaught exception and an unhandled rejection each leave the strike de-energised', async () => {
    const cases = [
      { mode: 'wait', expect: { code: 0, signal: null } },
      { mode: 'throw', expect: { code: 1, signal: null } },
      { mode: 'reject', expect: { code: 1, signal: null } },
    ];
    const results = await Promise.all(cases.map(async ({ mode }) => {
      const s = scene();
      let energised: number | undefined;
      const res = await run('door-process.ts', [s.root, s.configPath, mode], (kill) => {
        energised = s.sim.value(529);
        if (mode === 'wait') kill('SIGTERM');
      });
      return { mode, res, energised, after: s.sim.value(529), led: s.sim.value(534) };
    }));
    for (const [i, r] of results.entries()) {
      assert.equal(r.energised, 1, `${r.mode}: the strike was energised by the grant`);
      assert.deepEqual({ code: r.res.code, signal: r.res.signal }, cases[i]!.expect, r.mode);
      assert.equal(r.after, 0, `${r.mode}: strike de-energised by the exit handlers`);
      assert.equal(r.led, 0, `${r.mode}: LED off`);
    }
  });

  void it('SIGKILL leaves the strike energised; the cold gpio-safe process fixes it from the config alone', async () => {
    const s = scene();
    s.sim.preExport(536, 1); // a lathe relay left on by an earlier crash, too
    const killed = await run('door-process.ts', [s.root, s.configPath, 'wait'], (kill) => kill('SIGKILL'));
    assert.equal(killed.signal, 'SIGKILL');
    assert.equal(s.sim.value(529), 1, 'no handler runs on SIGKILL: this is why ExecStopPost exists');
    const safe = await run('gpio-safe-process.ts', [s.root, s.configPath]);
    assert.equal(safe.code, 0);
    const out = JSON.parse(safe.stdout) as { ok: { name: string }[]; failed: string[]; errors: string[] };
    assert.deepEqual(out.ok.map((o) => o.name), ['front.strike', 'front.led', 'front.buzzer', 'lathe.relay']);
    assert.deepEqual([s.sim.value(529), s.sim.value(534), s.sim.value(535), s.sim.value(536)], [0, 0, 0, 0]);
    assert.equal(s.sim.direction(529), 'out', 'left driving low, not handed back to the pull');
  });
});

void describe('safeOutputsFromConfig', () => {
  void it('still forces the outputs of a block that fails validation, and reports why', () => {
    const { outputs, errors } = safeOutputsFromConfig({
      doors: [{ id: 'front', held_open_ms: 5, pins: { strike: { line: 17, active_low: true }, led: { line: 22 } } }],
      machines: [{ id: 'lathe', pins: { relay: { line: 24 } } }],
    });
    assert.deepEqual(outputs, [
      { name: 'lathe.relay', line: 24, active_low: false },
      { name: 'front.strike', line: 17, active_low: true },
      { name: 'front.led', line: 22, active_low: false },
    ]);
    assert.deepEqual(errors.map((e) => e.message), ["door 'front': held_open_ms must be 1000..3600000, got 5"]);
  });

  void it('skips a pin whose safe level cannot be known, names it, and drives each line once', () => {
    const { outputs, errors } = safeOutputsFromConfig({
      doors: [
        { id: 'a', pins: { strike: { line: 17, active_low: 'yes' }, buzzer: { line: 23 } } },
        { id: 'b', pins: { strike: { line: 23 } } },
      ],
    });
    assert.deepEqual(outputs.map((o) => o.name), ['b.strike']);
    assert.deepEqual(errors.map((e) => e.key), ['door.a.pins.strike.active_low', 'doors[0].pins.strike']);
    assert.match(errors[1]!.message, /pins.strike cannot be forced safe/);
  });

  void it('says what is wrong with a config that is not an object or has no lists', () => {
    assert.match(safeOutputsFromConfig(42).errors[0]!.message, /config must be an object/);
    assert.match(safeOutputsFromConfig({ doors: {} }).errors[0]!.message, /doors must be a list/);
    assert.deepEqual(safeOutputsFromConfig({}).outputs, []);
  });
});
