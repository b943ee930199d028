// Body schemas for dapp event types. Small on purpose: validators must be pure and fast, and a
// failure names the path and what was expected ("body.admins[0].key: expected 64 hex characters").
import { reject } from './errors.ts';

export type Schema =
  | { kind: 'string'; min?: number; max?: number; pattern?: RegExp; optional?: boolean; describe?: string }
  | { kind: 'hex'; bytes: number; optional?: boolean }
  | { kind: 'int'; min?: number; max?: number; optional?: boolean }
  | { kind: 'bool'; optional?: boolean }
  | { kind: 'enum'; values: readonly string[]; optional?: boolean }
  | { kind: 'array'; items: Schema; min?: number; max: number; unique?: boolean; optional?: boolean }
  | { kind: 'object'; props: Record<string, Schema>; optional?: boolean };

export const s = {
  str: (max = 200, extra: Partial<Extract<Schema, { kind: 'string' }>> = {}): Schema => ({ kind: 'string', min: 1, max, ...extra }),
  hex: (bytes: number): Schema => ({ kind: 'hex', bytes }),
  int: (min?: number, max?: number): Schema => ({ kind: 'int', ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}) }),
  bool: (): Schema => ({ kind: 'bool' }),
  oneOf: (values: readonly string[]): Schema => ({ kind: 'enum', values }),
  list: (items: Schema, max: number, min = 0): Schema => ({ kind: 'array', items, max, min }),
  obj: (props: Record<string, Schema>): Schema => ({ kind: 'object', props }),
  opt: (x: Schema): Schema => ({ ...x, optional: true }),
};

function fail(path: string, expected: string, got: unknown): never {
  const shown = typeof got === 'string' ? JSON.stringify(got.length > 40 ? `${got.slice(0, 40)}...` : got) : JSON.stringify(got);
  return reject('INVALID_BODY', `${path}: expected ${expected}, got ${shown ?? typeof got}`);
}

export function check(schema: Schema, value: unknown, path = 'body'): void {
  switch (schema.kind) {
    case 'string':
      if (typeof value !== 'string') fail(path, 'a string', value);
      if (schema.min !== undefined && value.length < schema.min) fail(path, `at least ${schema.min} characters`, value);
      if (schema.max !== undefined && value.length > schema.max) fail(path, `at most ${schema.max} characters`, value);
      if (schema.pattern && !schema.pattern.test(value)) fail(path, schema.describe ?? `a string matching ${schema.pattern.source}`, value);
      return;
    case 'hex':
      if (typeof value !== 'string' || value.length !== schema.bytes * 2 || !/^[0-9a-f]*$/.test(value)) {
        fail(path, `${schema.bytes * 2} lowercase hex characters`, value);
      }
      return;
    case 'int':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) fail(path, 'an integer', value);
      if (schema.min !== undefined && value < schema.min) fail(path, `an integer >= ${schema.min}`, value);
      if (schema.max !== undefined && value > schema.max) fail(path, `an integer <= ${schema.max}`, value);
      return;
    case 'bool':
      if (typeof value !== 'boolean') fail(path, 'true or false', value);
      return;
    case 'enum':
      if (typeof value !== 'string' || !schema.values.includes(value)) fail(path, `one of ${schema.values.join(', ')}`, value);
      return;
    case 'array': {
      if (!Array.isArray(value)) fail(path, 'a list', value);
      if (value.length > schema.max) fail(path, `at most ${schema.max} items`, `${value.length} items`);
      if (schema.min !== undefined && value.length < schema.min) fail(path, `at least ${schema.min} items`, `${value.length} items`);
      value.forEach((v, i) => check(schema.items, v, `${path}[${i}]`));
      return;
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(path, 'an object', value);
      const obj = value as Record<string, unknown>;
      for (const k of Object.keys(obj)) {
        if (!(k in schema.props)) reject('INVALID_BODY', `${path}.${k}: unknown field`);
      }
      for (const [k, sub] of Object.entries(schema.props)) {
        if (obj[k] === undefined) {
          if (!sub.optional) reject('INVALID_BODY', `${path}.${k}: missing`);
          continue;
        }
        check(sub, obj[k], `${path}.${k}`);
      }
      return;
    }
  }
}
