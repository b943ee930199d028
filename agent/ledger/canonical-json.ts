// Canonical JSON for event bodies (docs/ledger-format.md, "Body"): object keys sorted by
// UTF-16 code units, no whitespace, integers only (no floats, no -0), strings escaped as
// JSON.stringify does. One value has exactly one encoding, so ids are reproducible.
import { reject } from './errors.ts';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const MAX_DEPTH = 32;

export function canonicalJson(value: unknown, depth = 0): string {
  if (depth > MAX_DEPTH) reject('INVALID_BODY', `body nests deeper than ${MAX_DEPTH} levels`);
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean': return value ? 'true' : 'false';
    case 'string': return JSON.stringify(value);
    case 'number':
      if (!Number.isSafeInteger(value) || Object.is(value, -0)) {
        reject('INVALID_BODY', `body numbers must be safe integers, got ${String(value)}`);
      }
      return String(value);
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v, depth + 1)).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
      return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k], depth + 1)}`).join(',')}}`;
    }
    case 'bigint': case 'function': case 'symbol': case 'undefined':
      return reject('INVALID_BODY', `body cannot hold a ${typeof value}`);
  }
  return reject('INVALID_BODY', 'body holds an unsupported value');
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses body bytes and insists they are the canonical encoding of what they hold. */
export function parseCanonical(bytes: Uint8Array): Json {
  let text: string;
  try { text = utf8.decode(bytes); } catch { return reject('BAD_ENCODING', 'body is not valid UTF-8'); }
  let value: Json;
  try { value = JSON.parse(text) as Json; } catch (e) {
    return reject('BAD_ENCODING', `body is not JSON: ${(e as Error).message}`);
  }
  let again: string;
  try { again = canonicalJson(value); } catch (e) {
    return reject('NOT_CANONICAL', `body is not canonical: ${(e as Error).message}`);
  }
  if (again !== text) reject('NOT_CANONICAL', 'body is JSON but not in canonical form (key order, spacing or escapes)');
  return value;
}
