// The agent configuration: defaults, errors that name the key path and what was expected, the checks
// across parts, a schema with a description and a default for every key, and door/machine fragments that
// agree with the controllers' own parsers (which complete those blocks).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDoorConfig } from '../../agent/controllers/door-config.ts';
import { parseMachineConfig } from '../../agent/controllers/machine-config.ts';
import { DEFAULT_POLICY } from '../../agent/access/policy.ts';
import { agentSchema, ConfigError, jsonSchema, parseConfig } from '../../agent/daemon/config/index.ts';
import { renderConfigReference } from '../../agent/daemon/config/reference.ts';
import { walk, type Node } from '../../agent/daemon/config/schema.ts';
import { doorSchema } from '../../agent/daemon/config/sections/doors.ts';
import { machineSchema } from '../../agent/daemon/config/sections/machines.ts';

const door = (extra: Record<string, unknown> = {}) => ({ id: 'front', pins: { strike: { line: 17 } }, ...extra });
const reader = { id: 'main', path: '/dev/ttyAMA0' };

function configError(raw: unknown): ConfigError {
  try {
    parseConfig(raw);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  assert.fail(`expected a ConfigError for ${JSON.stringify(raw)}`);
}

describe('agent config: values', () => {
  it('fills every default into an empty file', () => {
    const cfg = parseConfig({});
    assert.equal(cfg.state_dir, '/var/lib/gdo');
    assert.equal(cfg.ledger.file, '/var/lib/gdo/ledger.db');
    assert.equal(cfg.ledger.synchronous, 'FULL');
    assert.equal(cfg.gpio.backend, 'onoff');
    assert.equal(cfg.http.listen, '127.0.0.1:8742');
    assert.equal(cfg.log.level, 'info');
    assert.equal(cfg.access.offline_policy, 'staff_only');
    assert.deepEqual(cfg.access.staff_groups, ['staff']);
    assert.deepEqual(cfg.readers, []);
    assert.match(cfg.node.name, /^[a-z0-9][a-z0-9-]*$/, 'an empty name becomes the host name');
  });

  it('defaults the access policy to agent/access\'s own defaults', () => {
    const a = parseConfig({}).access;
    assert.deepEqual(
      { maxOfflineMs: a.max_offline_ms, offline: a.offline_policy, clockToleranceMs: a.clock_tolerance_ms, clockQuorum: a.clock_quorum, clock: a.clock_policy, staffGroups: a.staff_groups },
      DEFAULT_POLICY);
  });

  it('resolves relative paths against state_dir and leaves absolute ones', () => {
    const cfg = parseConfig({ state_dir: '/srv/gdo', ledger: { file: 'db/l.db' }, gpio: { backend: 'fake', fake_state_file: '/run/g.json' }, sync: { password_file: 'broker.pass' } });
    assert.equal(cfg.ledger.file, '/srv/gdo/db/l.db');
    assert.equal(cfg.gpio.fake_state_file, '/run/g.json');
    assert.equal(cfg.sync.password_file, '/srv/gdo/broker.pass');
  });

  it('completes doors and machines with the controllers\' parsers, readers defaulting to the first', () => {
    const cfg = parseConfig({
      readers: [reader, { id: 'laser', path: '/dev/ttyUSB0' }],
      doors: [door({ unlock_ms: 3000 })],
      machines: [{ id: 'laser', reader: 'laser', pins: { relay: { line: 27 } } }],
    });
    assert.equal(cfg.doors[0]!.reader, 'main');
    assert.equal(cfg.doors[0]!.rex_unlock_ms, 3000, 'rex_unlock_ms defaults to unlock_ms');
    assert.equal(cfg.doors[0]!.resource, 'door:front');
    assert.equal(cfg.machines[0]!.reader, 'laser');
    assert.equal(cfg.machines[0]!.session_ms, 300_000);
  });
});

describe('agent config: errors name the key and what was expected', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['unknown top-level key', { stateDir: '/x' }, 'stateDir', /stateDir is not a known key \(expected one of: .*state_dir/],
    ['unknown nested key', { readers: [reader], doors: [door({ pins: { strike: { line: 17 }, strke: { line: 4 } } })] }, 'doors[0].pins.strke', /not a known key/],
    ['wrong type', { http: { listen: 8742 } }, 'http.listen', /http\.listen must be a string, got 8742/],
    ['bad enum', { gpio: { backend: 'gpiod' } }, 'gpio.backend', /must be one of 'onoff', 'fake', got "gpiod"/],
    ['out of range', { readers: [{ ...reader, poll_ms: 5 }] }, 'readers[0].poll_ms', /must be an integer 50\.\.1000, got 5/],
    ['door range', { readers: [reader], doors: [door({ unlock_ms: 60_000 })] }, 'doors[0].unlock_ms', /500\.\.10000, got 60000/],
    ['door range from other keys', { readers: [reader], doors: [door({ unlock_ms: 8000, max_energised_ms: 4000 })] }, 'doors[0].max_energised_ms', /8000\.\.86400000, got 4000/],
    ['door pins used twice in one block', { readers: [reader], doors: [door({ pins: { strike: { line: 17 }, led: { line: 17 } } })] }, 'doors[0].pins.led.line', /must differ from pins\.strike\.line/],
    ['missing required key', { readers: [reader], doors: [{ id: 'front' }] }, 'doors[0].pins', /doors\[0\]\.pins is required/],
    ['bad id', { readers: [reader], doors: [door({ id: 'front door' })] }, 'doors[0].id', /letters, digits/],
    ['unknown reader', { readers: [reader], doors: [door({ reader: 'side' })] }, 'doors[0].reader', /must be one of 'main', got 'side'/],
    ['no reader at all', { doors: [door()] }, 'readers', /readers must list the reader doors\[0\] uses/],
    ['two controllers on one reader', { readers: [reader], doors: [door()], machines: [{ id: 'laser', pins: { relay: { line: 27 } } }] }, 'machines[0].reader', /already serves doors\[0\]/],
    ['one line in two blocks', { readers: [reader, { id: 'b', path: '/dev/x' }], doors: [door()], machines: [{ id: 'laser', reader: 'b', pins: { relay: { line: 17 } } }] }, 'machines[0].pins.relay.line', /must differ from doors\[0\]\.pins\.strike\.line, got GPIO 17/],
    ['reset line on an output', { readers: [{ ...reader, reset_line: 17 }], doors: [door()] }, 'readers[0].reset_line', /must differ from doors\[0\]\.pins\.strike\.line/],
    ['duplicate reader ids', { readers: [reader, reader] }, 'readers[1].id', /must be unique/],
    ['fake state file with onoff', { gpio: { fake_state_file: 'g.json' } }, 'gpio.fake_state_file', /fake backend only/],
    ['bad broker', { sync: { broker: 'http://hub' } }, 'sync.broker', /"embedded" or an mqtt:\/\//],
    ['bad org', { org: 'abc' }, 'org', /64 lowercase hex/],
    ['not an object', [], '', /must be an object/],
  ];
  for (const [what, raw, key, message] of cases) {
    it(what, () => {
      const err = configError(raw);
      assert.equal(err.key, key);
      assert.match(err.message, message);
      assert.equal(err.message.includes('\n'), false, 'one line');
    });
  }

  it('never echoes a secret value', () => {
    // The password lives in a file; a wrong type for the file name is reported without the value's text anyway.
    const err = configError({ sync: { username: { secret: 'hunter2' } } });
    assert.equal(err.key, 'sync.username');
    assert.equal(err.message.includes('hunter2'), false);
  });
});

describe('agent config: schema', () => {
  it('gives every key a description and a default (or marks it required, derived or not set)', () => {
    const missing: string[] = [];
    for (const { path, node, required } of walk(agentSchema)) {
      if (node.description.trim().length < 8) missing.push(`${path}: description`);
      const optionalBlock = node.type === 'object' && !required; // an absent pin block = not connected
      if (node.default === undefined && node.derived === undefined && !required && !optionalBlock) missing.push(`${path}: default`);
    }
    assert.deepEqual(missing, []);
  });

  it('prints as JSON Schema that rejects unknown keys at every level', () => {
    const s = jsonSchema() as { properties: Record<string, { additionalProperties?: boolean; properties?: Record<string, { description?: string }> }>; additionalProperties: boolean };
    assert.equal(s.additionalProperties, false);
    assert.equal(s.properties['ledger']!.additionalProperties, false);
    assert.ok(s.properties['ledger']!.properties!['synchronous']!.description);
    const text = JSON.stringify(s);
    assert.match(text, /"doors":\{[^]*"items":\{[^]*"additionalProperties":false/);
  });

  it('renders a Markdown reference row for every key', () => {
    const md = renderConfigReference();
    for (const { path } of walk(agentSchema)) assert.ok(md.includes(`| \`${path}\` |`), path);
    assert.match(md, /\| `doors\[\]\.rex_unlock_ms` \| integer 500\.\.10000 \| unlock_ms \|/);
  });
});

describe('agent config: door and machine fragments agree with the controllers\' parsers', () => {
  const blocks: [string, Node, (raw: unknown) => unknown, Record<string, unknown>][] = [
    ['door', doorSchema, parseDoorConfig, { id: 'd', pins: { strike: { line: 17 } } }],
    ['machine', machineSchema, parseMachineConfig, { id: 'm', pins: { relay: { line: 17 } } }],
  ];
  for (const [kind, schema, parse, minimal] of blocks) {
    const props = (schema as Extract<Node, { type: 'object' }>).properties;
    it(`${kind}: the schema's defaults are what the parser fills in`, () => {
      const parsed = parse(minimal) as Record<string, unknown>;
      for (const [k, node] of Object.entries(props)) {
        if (node.default !== undefined) assert.deepEqual(parsed[k], node.default, `${kind}.${k}`);
      }
    });
    it(`${kind}: the schema's limits are the parser's limits`, () => {
      for (const [k, node] of Object.entries(props)) {
        if (node.type !== 'integer' || node.derived !== undefined) continue;
        for (const ok of [node.minimum, node.maximum]) assert.doesNotThrow(() => parse({ ...minimal, [k]: ok }), `${kind}.${k} = ${ok}`);
        for (const bad of [node.minimum - 1, node.maximum + 1]) assert.throws(() => parse({ ...minimal, [k]: bad }), Error, `${kind}.${k} = ${bad}`);
      }
    });
  }
});
