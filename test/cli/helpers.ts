// Running the gdo CLI in tests: `gdo()` is the real entry point as a child process (about a second
// each, for exit codes and a few end-to-end runs); `batch()` runs many command lines in one child
// process through main() (batch-runner.ts), for the bulk of the assertions.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { badgeHash, parseUid } from '../../agent/access/badge-hash.ts';
import type { Run } from './batch-runner.ts';

export type { Run };
export const PASSPHRASE = 'correct horse battery';
const MAIN = fileURLToPath(new URL('../../agent/cli/main.ts', import.meta.url));
const RUNNER = fileURLToPath(new URL('./batch-runner.ts', import.meta.url));
const { GDO_DATA: _unused, ...inherited } = process.env;
const ENV = { ...inherited, GDO_PASSPHRASE: PASSPHRASE, TZ: 'UTC' };

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `gdo-cli-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function gdo(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], { encoding: 'utf8', env: { ...ENV, ...env }, timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the named command lines in order in one process; results by name. */
export function batch<K extends string>(dir: string, steps: Array<[K, string[]]>, env: Record<string, string> = {}): Record<K, Run> {
  const inFile = join(dir, `batch-${process.pid}-in.json`);
  const outFile = join(dir, `batch-${process.pid}-out.json`);
  writeFileSync(inFile, JSON.stringify(steps.map(([, argv]) => argv)));
  const r = spawnSync(process.execPath, ['--import', 'tsx', RUNNER, inFile, outFile], { encoding: 'utf8', env: { ...ENV, ...env }, timeout: 120_000 });
  if (r.status !== 0) throw new Error(`batch runner failed (${r.status}): ${r.stderr}`);
  const results = JSON.parse(readFileSync(outFile, 'utf8')) as Run[];
  rmSync(inFile); rmSync(outFile);
  return Object.fromEntries(steps.map(([name], i) => [name, results[i]!])) as Record<K, Run>;
}

/** The JSON document a successful --json run printed. */
export function json<T = Record<string, unknown>>(r: Run, what = 'command'): T {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

/** A refusal: the exit code and exactly one stderr line matching `re`, nothing on stdout. */
export function refused(r: Run, code: number, re: RegExp): void {
  if (r.code !== code) throw new Error(`expected exit ${code}, got ${r.code}: ${r.stderr}${r.stdout}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  if (lines.length !== 1 || !re.test(lines[0]!)) throw new Error(`expected one stderr line matching ${re}, got: ${JSON.stringify(r.stderr)}`);
  if (r.stdout !== '') throw new Error(`expected nothing on stdout, got ${JSON.stringify(r.stdout)}`);
}

/** The badge hash the data directory's site secret gives a UID (what the ledger must hold). */
export function hashIn(dataDir: string, uid: string): string {
  return badgeHash(readFileSync(join(dataDir, 'site-secret')), parseUid(uid));
}

/** Every spelling of a UID's bytes that output or a file could carry it in. */
export function uidSpellings(uid: string): string[] {
  const b = parseUid(uid);
  const h = b.toString('hex');
  return [h, h.toUpperCase(), h.match(/../g)!.join(':'), h.match(/../g)!.join(' '), b.toString('base64'), b.toString('base64url')];
}
