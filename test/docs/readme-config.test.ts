// README.md's configuration reference is generated from the schema (npm run docs:config): this
// fails when someone changes the schema and forgets to regenerate it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderConfigReference } from '../../agent/daemon/config/reference.ts';

test('README.md carries the configuration reference the schema renders', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const m = /<!-- config-reference:start -->\n([\s\S]*?)\n<!-- config-reference:end -->/.exec(readme);
  assert.ok(m, 'README.md has the config-reference markers');
  assert.equal(m[1], renderConfigReference().trimEnd(), 'run npm run docs:config');
});
