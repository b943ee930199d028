// The two clock bounds agree (docs/access-model.md, "What shows a clock is wrong"): an event a node takes
// up to ledger.max_skew_ms ahead must not by itself make that node's clock look behind, so a config with
// max_skew_ms above access.clock_tolerance_ms is refused, naming the key, by the parser and by `gdo config check`.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { ConfigError, parseConfig } from '../../agent/daemon/config/index.ts';
import { gdo, tempDir, writeJson } from './helpers.ts';

const t = tempDir('gdo-clock-config-');
after(() => t.dispose());

it('the defaults agree: max_skew_ms is at most clock_tolerance_ms, quorum 2', () => {
  const cfg = parseConfig({});
  assert.ok(cfg.ledger.max_skew_ms <= cfg.access.clock_tolerance_ms);
  assert.equal(cfg.access.clock_quorum, 2);
});

it('refuses ledger.max_skew_ms above access.clock_tolerance_ms', () => {
  assert.throws(() => parseConfig({ ledger: { max_skew_ms: 300_000 } }), (e: unknown) =>
    e instanceof ConfigError && e.key === 'ledger.max_skew_ms' && /at most access\.clock_tolerance_ms \(120000\)/.test(e.message));
  assert.throws(() => parseConfig({ access: { clock_tolerance_ms: 60_000 } }), ConfigError);
  assert.equal(parseConfig({ ledger: { max_skew_ms: 300_000 }, access: { clock_tolerance_ms: 300_000 } }).ledger.max_skew_ms, 300_000);
  assert.throws(() => parseConfig({ access: { clock_quorum: 0 } }), (e: unknown) => e instanceof ConfigError && e.key === 'access.clock_quorum');
});

it('gdo config check names the key and exits non-zero', () => {
  const file = writeJson(join(t.dir, 'skew.json'), { state_dir: t.dir, ledger: { max_skew_ms: 300_000 } });
  const r = gdo(['config', 'check', '--config', file]);
  assert.notEqual(r.code, 0);
  assert.match(r.stdout + r.stderr, /ledger\.max_skew_ms/);
});
