// Exit codes as the README states them, for every command, on the real entry point as a child
// process: 0 ok, 1 failure (or a denial for access check), 2 usage error, 3 refused by the ledger or
// the key file. Every command and subcommand main.ts registers gets a row (a test fails when one
// has none), and every row runs twice: in text (one `gdo:` line on stderr) and with --json (one
// {"error":{"code","message"},"exit"} document on stdout, nothing on stderr).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../../agent/cli/main.ts';
import { batch, PASSPHRASE, tempDir, type Run } from './helpers.ts';

const MAIN = fileURLToPath(new URL('../../agent/cli/main.ts', import.meta.url));
const { GDO_DATA: _unused, ...inherited } = process.env;

/** The CLI as a process, asynchronously, so two rows run at once. */
function gdo(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { env: { ...inherited, GDO_PASSPHRASE: PASSPHRASE, TZ: 'UTC', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    p.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

async function pool<T, R>(items: T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (next < items.length) { const i = next++; out[i] = await fn(items[i]!); } }));
  return out;
}

interface Row { name: string; argv: string[]; exit: number; code?: string | RegExp; env?: Record<string, string>; jsonOnly?: boolean }

describe('exit codes of every command', () => {
  const t = tempDir('exit');
  const data = join(t.dir, 'site');
  const d = ['--data', data];
  const csv = join(t.dir, 'bad.csv');

  before(() => {
    const r = batch(t.dir, [
      ['init', ['init', '--name', 'Exit Space', '--tz', 'Europe/Zurich', ...d]],
      ['alice', ['member', 'add', 'alice', '--name', 'Alice', '--groups', 'members', ...d]],
      ['badge', ['badge', 'assign', '--member', 'alice', '--uid', '04:11:22:33', ...d]],
      ['door', ['door', 'add', 'front', '--name', 'Front', '--rule', 'members', ...d]],
      ['machine', ['machine', 'add', 'laser', '--name', 'Laser', ...d]],
    ]);
    for (const [k, v] of Object.entries(r)) assert.equal(v.code, 0, `${k}: ${v.stderr}`);
    writeFileSync(csv, 'id,name\nalice,Alice again\nAlice,Alice twice\n');
  });
  after(() => t.cleanup());

  // Rows for what each exit code means, on the commands that can end that way.
  const meaning: Row[] = [
    { name: 'site ok', argv: ['site', ...d], exit: 0 },
    { name: 'ledger verify ok', argv: ['ledger', 'verify', ...d], exit: 0 },
    { name: 'access check allowed', argv: ['access', 'check', '--uid', '04:11:22:33', '--resource', 'door:front', ...d], exit: 0 },
    { name: 'access check denied is 1', argv: ['access', 'check', '--uid', '04:11:22:34', '--resource', 'door:front', ...d], exit: 1 },
    { name: 'access check --member denied is 1', argv: ['access', 'check', '--member', 'alice', '--resource', 'machine:laser', ...d], exit: 1 },
    { name: 'member show of nobody is a failure', argv: ['member', 'show', 'zed', ...d], exit: 1, code: 'failure' },
    { name: 'machine show of nothing is a failure', argv: ['machine', 'show', 'lathe', ...d], exit: 1, code: 'failure' },
    { name: 'unknown command', argv: ['membr', 'list', ...d], exit: 2, code: 'usage' },
    { name: 'missing option', argv: ['member', 'add', 'carol', ...d], exit: 2, code: 'usage' },
    { name: 'bad date', argv: ['member', 'add', 'carol', '--name', 'C', '--until', '2030-02-30', ...d], exit: 2, code: 'usage' },
    { name: 'no ledger here', argv: ['member', 'list', '--data', join(t.dir, 'nowhere')], exit: 2, code: 'usage' },
    { name: 'ledger refusal: duplicate member', argv: ['member', 'add', 'alice', '--name', 'A', ...d], exit: 3, code: 'INVALID_BODY' },
    { name: 'ledger refusal: case twin', argv: ['member', 'add', 'ALICE', '--name', 'A', ...d], exit: 3, code: 'INVALID_BODY' },
    { name: 'ledger refusal: reinstate an active member', argv: ['member', 'reinstate', 'alice', ...d], exit: 3, code: 'INVALID_BODY' },
    { name: 'ledger refusal: badge for nobody', argv: ['badge', 'assign', '--member', 'zed', '--uid', '04:99:99:99', ...d], exit: 3, code: 'INVALID_BODY' },
    { name: 'ledger refusal: CSV import of a case twin', argv: ['access', 'import', csv, ...d], exit: 3, code: 'INVALID_BODY' },
    { name: 'CSV file malformed', argv: ['access', 'import', join(t.dir, 'site', 'operator.key'), ...d], exit: 2, code: 'usage' },
    { name: 'key file: wrong passphrase', argv: ['member', 'suspend', 'alice', ...d], exit: 3, code: 'key_file', env: { GDO_PASSPHRASE: 'not the passphrase' } },
    { name: 'enrolment refusal: no such request file', argv: ['node', 'approve', 'front-door', '--request', join(t.dir, 'none.request'), ...d], exit: 3, code: 'ENROL_BAD_REQUEST' },
    { name: 'key file: none', argv: ['door', 'lift', '--site', '--key', join(t.dir, 'missing.key'), ...d], exit: 3, code: 'key_file' },
  ];

  // Every command and subcommand: an option it does not have is a usage error (2), with a suggestion.
  // These run with --json only (the rows above cover the text form), to keep the process count down.
  const everyCommand: Row[] = COMMANDS.flatMap((c) => (c.subcommands ?? [undefined]).map((sub) => ({
    name: `gdo ${c.name}${sub ? ` ${sub}` : ''} --jsn`, argv: [c.name, ...(sub ? [sub] : []), '--jsn', ...d], exit: 2, code: 'usage', jsonOnly: true,
  })));

  it('has a row for every command and subcommand main.ts registers', () => {
    for (const c of COMMANDS) for (const sub of c.subcommands ?? [undefined]) {
      assert.ok(everyCommand.some((r) => r.argv[0] === c.name && (sub === undefined || r.argv[1] === sub)), `no row for gdo ${c.name} ${sub ?? ''}`);
    }
  });

  it('every row exits as the README says, in text and with --json', async () => {
    const rows = [...meaning, ...everyCommand];
    const runs = await pool(rows.flatMap((r) => [...(r.jsonOnly ? [] : [{ r, json: false }]), { r, json: true }]), 2, async ({ r, json }) => ({ r, json, run: await gdo(json ? [...r.argv, '--json'] : r.argv, r.env) }));
    const wrong: string[] = [];
    for (const { r, json, run } of runs) {
      const what = `${r.name}${json ? ' --json' : ''}`;
      if (run.code !== r.exit) { wrong.push(`${what}: exit ${run.code}, expected ${r.exit} (${run.stderr.trim()}${run.stdout.trim()})`); continue; }
      if (r.exit === 0 || (r.exit === 1 && r.code === undefined)) continue;
      if (json) {
        let doc: { error?: { code?: string; message?: string }; exit?: number } = {};
        try { doc = JSON.parse(run.stdout) as typeof doc; } catch { wrong.push(`${what}: stdout is not one JSON document: ${run.stdout}`); continue; }
        if (doc.exit !== r.exit || typeof doc.error?.message !== 'string' || (r.code !== undefined && !(r.code instanceof RegExp ? r.code.test(doc.error.code ?? '') : doc.error.code === r.code))) {
          wrong.push(`${what}: ${run.stdout.trim()}`);
        }
        if (run.stderr !== '') wrong.push(`${what}: stderr not empty: ${run.stderr}`);
      } else {
        const lines = run.stderr.split('\n').filter(Boolean);
        if (lines.length !== 1 || !lines[0]!.startsWith('gdo: ') || run.stdout !== '') wrong.push(`${what}: expected one gdo: line on stderr, got ${JSON.stringify(run.stderr)} / ${JSON.stringify(run.stdout)}`);
      }
    }
    assert.deepEqual(wrong, []);
    const typo = runs.find((x) => x.r.name === 'gdo member add --jsn')!;
    assert.equal(JSON.parse(typo.run.stdout).error.message, 'unknown option --jsn (did you mean --json?)');
  });
});
