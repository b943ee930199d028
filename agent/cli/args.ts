// A small argument parser: `--flag value`, `--flag=value`, boolean `--flag`, positionals.
export class UsageError extends Error {}

export interface Args { pos: string[]; flags: Map<string, string | true> }

export function parseArgs(argv: string[], booleans: readonly string[] = []): Args {
  const pos: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') { pos.push(...argv.slice(i + 1)); break; }
    if (!a.startsWith('--')) { pos.push(a); continue; }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (eq >= 0) flags.set(name, a.slice(eq + 1));
    else if (booleans.includes(name) || i + 1 >= argv.length || argv[i + 1]!.startsWith('--')) flags.set(name, true);
    else flags.set(name, argv[++i]!);
  }
  return { pos, flags };
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

export function onlyFlags(a: Args, allowed: readonly string[]): void {
  for (const k of a.flags.keys()) if (!allowed.includes(k)) throw new UsageError(`unknown option --${k}`);
}
