// Field checks shared by the bootstrap and enrolment-request formats: each names the field and what was
// expected, so a hand-edited or damaged file is easy to fix.
import { NODE_ROLES } from '../../dapps/org/index.ts';
import { EnrolError, type EnrolErrorCode } from './errors.ts';

export type NodeRole = (typeof NODE_ROLES)[number];

/** org/node.add's name rule (dapps/org): hostname-like, at most 63 characters. */
export const NODE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;

export class FieldReader {
  constructor(private readonly code: EnrolErrorCode, private readonly where: string) {}

  fail(field: string, expected: string, got: unknown): never {
    const shown = typeof got === 'string' ? JSON.stringify(got.length > 80 ? `${got.slice(0, 80)}…` : got) : got === undefined ? 'nothing' : JSON.stringify(got)?.slice(0, 80) ?? typeof got;
    throw new EnrolError(this.code, `${this.where}: ${field} must be ${expected}, got ${shown}`);
  }

  object(v: unknown, field: string): Record<string, unknown> {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.fail(field, 'a JSON object', v);
    return v as Record<string, unknown>;
  }

  only(o: Record<string, unknown>, field: string, allowed: readonly string[]): void {
    for (const k of Object.keys(o)) {
      if (!allowed.includes(k)) throw new EnrolError(this.code, `${this.where}: unknown field ${field === '' ? k : `${field}.${k}`} (expected only ${allowed.join(', ')})`);
    }
  }

  hex(v: unknown, field: string, bytes: number): string {
    if (typeof v !== 'string' || v.length !== bytes * 2 || !/^[0-9a-f]*$/.test(v)) this.fail(field, `${bytes * 2} lowercase hex characters (${bytes} bytes)`, v);
    return v;
  }

  str(v: unknown, field: string, max: number, pattern?: RegExp, describe?: string): string {
    if (typeof v !== 'string' || v.length === 0 || v.length > max || (pattern && !pattern.test(v))) {
      this.fail(field, describe ?? `a non-empty string of at most ${max} characters`, v);
    }
    return v;
  }

  optStr(v: unknown, field: string, max: number, pattern?: RegExp, describe?: string): string | undefined {
    return v === undefined ? undefined : this.str(v, field, max, pattern, describe);
  }

  name(v: unknown, field: string): string {
    return this.str(v, field, 63, NODE_NAME, 'a hostname-like node name (a-z, 0-9, -; at most 63 characters, not starting with -)');
  }

  roles(v: unknown, field: string): NodeRole[] {
    if (!Array.isArray(v) || v.length === 0 || v.length > NODE_ROLES.length) this.fail(field, `a list of 1 to ${NODE_ROLES.length} roles (${NODE_ROLES.join(', ')})`, v);
    const list = v as unknown[];
    for (const r of list) if (typeof r !== 'string' || !(NODE_ROLES as readonly string[]).includes(r)) this.fail(`${field}[]`, `one of ${NODE_ROLES.join(', ')}`, r);
    if (new Set(list).size !== list.length) this.fail(field, 'a list without repeats', v);
    return list as NodeRole[];
  }

  time(v: unknown, field: string): string {
    if (typeof v !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/.test(v) || Number.isNaN(Date.parse(v))) {
      this.fail(field, 'an ISO 8601 UTC time such as 2025-01-31T12:00:00.000Z', v);
    }
    return v;
  }
}

/** Roles from a command line: "door", "door,machine". */
export function parseRoles(text: string): NodeRole[] {
  const list = text.split(',').map((r) => r.trim()).filter((r) => r !== '');
  return new FieldReader('ENROL_PROVISION', '--role').roles(list, 'roles');
}
