// A small argument parser: `--flag value`, `--flag=value`, boolean `--flag`, positionals.
import { didYouMean } from './suggest.ts';

export class UsageError extends Error {}

export interface Args {
  pos: string[];
  /** The last value of each option. */
  flags: Map<string, string | true>;
  /** Every value of each option in order, for repeatable options (see `list`). */
  all?: Map<string, Array<string | true>>;
}

export function parseArgs(argv: string[], booleans: readonly string[] = []): Args {
  const pos: string[] = [];
  const flags = new Map<string, string | true>();
  const all = new Map<string, Array<string | true>>();
  const set = (name: string, v: string | true): void => { flags.set(name, v); all.set(name, [...(all.get(name) ?? []), v]); };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { pos.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith('--')) { pos.push(a); continue; }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (eq >= 0) set(name, a.slice(eq + 1));
    else if (booleans.includes(name) || i + 1 >= argv.length || argv[i + 1]!.startsWith('--')) set(name, true);
    else set(name, argv[++i]!);
  }
  return { pos, flags, all };
}

export function str(a: Args, name: string, fallback?: string): string {
  const v = a.flags.get(name);
  if (v === undefined) {
    if (fallback !== undefined) return fallback;
    throw new UsageError(`missing --${name}`);
  }
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return v;
}

export function int(a: Args, name: string, fallback: number): number {
  const v = a.flags.get(name);
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got ${String(v)}`);
  return n;
}

/** Every value of a repeatable option (`--window A --window B`), in order; none when absent. */
export function list(a: Args, name: string): string[] {
  const vs = a.all?.get(name) ?? (a.flags.has(name) ? [a.flags.get(name)!] : []);
  return vs.map((v) => { if (v === true) throw new UsageError(`--${name} needs a value`); return v; });
}

export function onlyFlags(a: Args, allowed: readonly string[]): void {
  for (const k of a.flags.keys()) {
    if (!allowed.includes(k)) throw new UsageError(`unknown option --${k}${didYouMean(k, [...allowed, 'help'], (c) => `--${c}`)}`);
  }
}
