// The agent configuration schema: a small tree of typed nodes, each with a description and a default
// (docs/design-notes.md habit 9), from which come validation with key paths, the JSON Schema (`gdo config schema`)
// and the Markdown reference (reference.ts). Each part of the agent contributes its own fragment
// (config/sections/*.ts); index.ts assembles them.
import { ConfigError } from './errors.ts';

interface Common {
  description: string;
  /**
   * Default filled in when the key is absent. Absent with `required` false and no `derived` means "not
   * set" (an optional pin, for example), which the reference shows as "not set".
   */
  default?: unknown;
  /** A default computed from other keys ("unlock_ms"); shown in the reference, not filled in here. */
  derived?: string;
  /** A secret: never echoed in error messages. */
  secret?: boolean;
}

export type Node =
  | (Common & { type: 'string'; enum?: readonly string[]; pattern?: RegExp; patternText?: string; minLength?: number })
  | (Common & { type: 'integer'; minimum: number; maximum: number; nullable?: boolean })
  | (Common & { type: 'boolean' })
  | (Common & { type: 'object'; properties: Record<string, Node>; required?: readonly string[] })
  | (Common & { type: 'array'; items: Node; maxItems?: number });

export type ObjectNode = Extract<Node, { type: 'object' }>;

// Builders: the description comes first because it is the part that must never be left out.
export const c = {
  str: (description: string, dflt: string | undefined, extra: Partial<Extract<Node, { type: 'string' }>> = {}): Node =>
    ({ type: 'string', description, ...(dflt !== undefined && { default: dflt }), ...extra }),
  oneOf: (description: string, values: readonly string[], dflt: string): Node =>
    ({ type: 'string', description, enum: values, default: dflt }),
  int: (description: string, minimum: number, maximum: number, dflt: number | null | undefined, extra: Partial<Common> & { nullable?: boolean } = {}): Node =>
    ({ type: 'integer', description, minimum, maximum, ...(dflt !== undefined && { default: dflt }), ...extra }),
  bool: (description: string, dflt: boolean): Node => ({ type: 'boolean', description, default: dflt }),
  obj: (description: string, properties: Record<string, Node>, required: readonly string[] = []): ObjectNode =>
    ({ type: 'object', description, properties, ...(required.length > 0 && { required }) }),
  list: (description: string, items: Node, extra: { maxItems?: number; default?: unknown[] } = {}): Node =>
    ({ type: 'array', description, items, default: extra.default ?? [], ...(extra.maxItems !== undefined && { maxItems: extra.maxItems }) }),
};

export interface ValidateOptions {
  /** Fill defaults into the result (false for blocks that another parser completes, e.g. doors). */
  fillDefaults?: boolean;
}

/**
 * Checks `value` against `node` and returns a copy with defaults filled in. Unknown keys and wrong values
 * throw a ConfigError naming the key path ("doors[0].pins.strike.line") and what was expected.
 */
export function validate(node: Node, value: unknown, path: string, opts: ValidateOptions = {}): unknown {
  const fill = opts.fillDefaults ?? true;
  switch (node.type) {
    case 'string': {
      if (typeof value !== 'string') return fail(path, node.enum ? oneOfText(node.enum) : 'a string', value, node);
      if (node.enum && !node.enum.includes(value)) return fail(path, oneOfText(node.enum), value, node);
      if (node.minLength !== undefined && value.length < node.minLength) {
        return fail(path, node.minLength === 1 ? 'a non-empty string' : `at least ${node.minLength} characters`, value, node);
      }
      if (node.pattern && !node.pattern.test(value)) return fail(path, node.patternText ?? `a string matching ${node.pattern.source}`, value, node);
      return value;
    }
    case 'integer': {
      if (value === null && node.nullable) return null;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < node.minimum || value > node.maximum) {
        return fail(path, `an integer ${node.minimum}..${node.maximum}${node.nullable ? ' or null' : ''}`, value, node);
      }
      return value;
    }
    case 'boolean':
      if (typeof value !== 'boolean') return fail(path, 'true or false', value, node);
      return value;
    case 'array': {
      if (!Array.isArray(value)) return fail(path, 'a list [...]', value, node);
      if (node.maxItems !== undefined && value.length > node.maxItems) return fail(path, `at most ${node.maxItems} entries`, value, node);
      return value.map((v, i) => validate(node.items, v, `${path}[${i}]`, opts));
    }
    case 'object': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(path, 'an object {...}', value, node);
      const raw = value as Record<string, unknown>;
      const known = Object.keys(node.properties);
      for (const k of Object.keys(raw)) {
        // Own keys only: `in` would take "constructor" or "toString" from Object.prototype for known keys.
        if (!Object.hasOwn(node.properties, k)) {
          throw new ConfigError(join(path, k), `${join(path, k)} is not a known key (expected one of: ${known.join(', ')})`);
        }
      }
      const out: Record<string, unknown> = {};
      for (const [k, child] of Object.entries(node.properties)) {
        const p = join(path, k);
        if (!Object.hasOwn(raw, k) || raw[k] === undefined) {
          if (node.required?.includes(k)) throw new ConfigError(p, `${p} is required: ${firstSentence(child.description)}`);
          if (fill && child.default !== undefined) out[k] = structuredClone(child.default);
          else if (fill && child.type === 'object' && !child.required) out[k] = validate(child, {}, p, opts);
          continue;
        }
        out[k] = validate(child, raw[k], p, opts);
      }
      return out;
    }
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function oneOfText(values: readonly string[]): string {
  return `one of ${values.map((v) => `'${v}'`).join(', ')}`;
}

function firstSentence(text: string): string {
  const i = text.indexOf('. ');
  return (i < 0 ? text : text.slice(0, i)).replace(/\.$/, '');
}

function fail(path: string, expected: string, got: unknown, node: Node): never {
  throw new ConfigError(path, `${path} must be ${expected}, got ${node.secret ? 'a hidden value' : show(got)}`);
}

export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}...` : v);
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object' && v !== null) return 'an object';
  return String(v);
}

/** JSON Schema (2020-12) for editors and `gdo config schema`. */
export function toJsonSchema(node: Node): Record<string, unknown> {
  const out: Record<string, unknown> = { description: describe(node) };
  if (node.default !== undefined) out['default'] = node.default;
  switch (node.type) {
    case 'string':
      out['type'] = 'string';
      if (node.enum) out['enum'] = [...node.enum];
      if (node.pattern) out['pattern'] = node.pattern.source;
      if (node.minLength !== undefined) out['minLength'] = node.minLength;
      break;
    case 'integer':
      out['type'] = node.nullable ? ['integer', 'null'] : 'integer';
      out['minimum'] = node.minimum;
      out['maximum'] = node.maximum;
      break;
    case 'boolean':
      out['type'] = 'boolean';
      break;
    case 'array':
      out['type'] = 'array';
      out['items'] = toJsonSchema(node.items);
      if (node.maxItems !== undefined) out['maxItems'] = node.maxItems;
      break;
    case 'object':
      out['type'] = 'object';
      out['additionalProperties'] = false;
      out['properties'] = Object.fromEntries(Object.entries(node.properties).map(([k, v]) => [k, toJsonSchema(v)]));
      if (node.required) out['required'] = [...node.required];
      break;
  }
  return out;
}

/** The description, plus the derived default when there is one (JSON Schema has no word for it). */
export function describe(node: Node): string {
  return node.derived ? `${node.description} Default: ${node.derived}.` : node.description;
}

/** Every key with its path, depth first; arrays contribute `key[]`. For the reference and its tests. */
export function walk(node: Node, path = '', out: { path: string; node: Node; required: boolean }[] = [], required = false): typeof out {
  if (path !== '') out.push({ path, node, required });
  if (node.type === 'object') {
    for (const [k, child] of Object.entries(node.properties)) walk(child, join(path, k), out, node.required?.includes(k) ?? false);
  } else if (node.type === 'array') {
    const items = node.items;
    if (items.type === 'object') {
      for (const [k, child] of Object.entries(items.properties)) walk(child, `${path}[].${k}`, out, items.required?.includes(k) ?? false);
    }
  }
  return out;
}
