// Configuration errors name the thing, the key, the allowed range and the value found
// ("door 'front': unlock_ms must be 500..10000, got 60000", docs/design-notes.md habit 7).

export class ControllerConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  /** Key path, e.g. "door.front.unlock_ms". */
  readonly key: string;

  constructor(key: string, message: string) {
    super(message);
    this.name = 'ControllerConfigError';
    this.key = key;
  }
}

export interface FieldReader {
  /** Integer in [min, max]; the default when absent, or an error when there is no default. */
  int(key: string, min: number, max: number, dflt?: number): number;
  bool(key: string, dflt: boolean): boolean;
  oneOf<T extends string>(key: string, allowed: readonly T[], dflt: T): T;
  /** A required or optional pin block. */
  pin(key: string, required: true): { line: number; active_low: boolean };
  pin(key: string, required: false): { line: number; active_low: boolean } | undefined;
  inputPin(key: string, dfltDebounce: number): { line: number; active_low: boolean; debounce_ms: number } | undefined;
  fail(key: string, rule: string, got: unknown): never;
}

/** Reads fields of one door/machine block; `what` is "door 'front'" and `path` is "door.front". */
export function fieldReader(what: string, path: string, raw: Record<string, unknown>): FieldReader {
  const fail = (key: string, rule: string, got: unknown): never => {
    throw new ControllerConfigError(`${path}.${key}`, `${what}: ${key} must be ${rule}, got ${show(got)}`);
  };
  const get = (key: string): unknown => {
    let v: unknown = raw;
    for (const part of key.split('.')) v = isRecord(v) ? v[part] : undefined;
    return v;
  };
  const int = (key: string, min: number, max: number, dflt?: number): number => {
    const v = get(key);
    if (v === undefined && dflt !== undefined) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) fail(key, `${min}..${max}`, v);
    return v as number;
  };
  const bool = (key: string, dflt: boolean): boolean => {
    const v = get(key);
    if (v === undefined) return dflt;
    if (typeof v !== 'boolean') fail(key, 'true or false', v);
    return v as boolean;
  };
  function pin(key: string, required: boolean): { line: number; active_low: boolean } | undefined {
    const v = get(key);
    if (v === undefined && !required) return undefined;
    if (!isRecord(v)) return fail(key, 'a pin block { line, active_low? }', v);
    return { line: int(`${key}.line`, 0, 53), active_low: bool(`${key}.active_low`, false) };
  }
  return {
    int,
    bool,
    oneOf<T extends string>(key: string, allowed: readonly T[], dflt: T): T {
      const v = get(key);
      if (v === undefined) return dflt;
      if (typeof v !== 'string' || !allowed.includes(v as T)) fail(key, `one of ${allowed.join(', ')}`, v);
      return v as T;
    },
    pin: pin as FieldReader['pin'],
    inputPin(key, dfltDebounce) {
      const p = pin(key, false);
      return p && { ...p, debounce_ms: int(`${key}.debounce_ms`, 0, 1000, dfltDebounce) };
    },
    fail,
  };
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  return v === undefined ? 'nothing' : typeof v === 'string' ? `'${v}'` : JSON.stringify(v) ?? String(v);
}
