// The gdo command line. Exit codes: 0 ok, 1 failure (or a denial for `access check`), 2 usage error,
// 3 refused by the ledger or the key file. Errors are one clear line on stderr; with --json, one JSON
// document on stdout instead: {"error":{"code","message"},"exit":N} (README, "The CLI").
import { LedgerError } from '../ledger/errors.ts';
import { parseArgs, UsageError } from './args.ts';
import { CliError } from './cli-error.ts';
import { KeyFileError } from './keyfile.ts';
import { ledgerCommands } from './ledger-cmds.ts';
import { staffCommands } from './staff-cmds.ts';
import { accessCommands } from './access-cmds.ts';
import { imageCommands } from './image-cmds.ts';
import { provisionCommands } from './provision-cmds.ts';
import { nodeCommands } from './node-cmds.ts';
import { firstbootCommands } from './firstboot-cmds.ts';
import { agentCommands } from './agent-cmds.ts';
import { brokerCommands } from './broker-cmds.ts';
import { simCommands } from './sim-cmds.ts';
import { syncCommands } from './sync-cmds.ts';
import type { Command } from './registry.ts';
import { makeOutput } from './output.ts';
import { didYouMean } from './suggest.ts';

declare const GDO_VERSION: string | undefined;
export const VERSION = typeof GDO_VERSION === 'string' ? GDO_VERSION : '0.0.0-dev';

export const COMMANDS: Command[] = [...ledgerCommands, ...staffCommands, ...accessCommands, ...imageCommands, ...provisionCommands, ...nodeCommands, ...firstbootCommands, ...agentCommands, ...brokerCommands, ...syncCommands, ...simCommands];

function overview(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(w)}${c.summary}`);
  return `gdo ${VERSION}: access control for maker spaces on a signed, mergeable ledger

usage: gdo <command> [subcommand] [options]

commands:
${lines.join('\n')}

common options: --data DIR (default $GDO_DATA or /var/lib/gdo), --json, --help, --version
times are read and shown in the site's zone (gdo init --tz); --tz ZONE overrides it, a time with an offset keeps its own
exit codes: 0 ok, 1 failure (or a denial for access check), 2 usage error, 3 refused by the ledger or the key file
with --json an error is one JSON document on stdout: {"error":{"code":...,"message":...},"exit":N}`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === 'help') { process.stdout.write(`${overview()}\n`); return cmd ? 0 : 2; }
  if (cmd === '--version') { process.stdout.write(`${VERSION}\n`); return 0; }
  const c = COMMANDS.find((x) => x.name === cmd);
  if (!c) {
    const hint = didYouMean(cmd, COMMANDS.map((x) => x.name));
    throw new UsageError(`unknown command '${cmd}'${hint || ' (see gdo --help)'}`);
  }
  let sub: string | undefined;
  let args = rest;
  if (c.subcommands && rest[0] !== undefined && !rest[0].startsWith('--')) {
    sub = rest[0];
    args = rest.slice(1);
    if (!c.subcommands.includes(sub)) {
      const hint = didYouMean(sub, c.subcommands, (x) => `'${cmd} ${x}'`);
      throw new UsageError(`unknown subcommand '${cmd} ${sub}'${hint || ` (expected one of: ${c.subcommands.join(', ')})`}`);
    }
  }
  const a = parseArgs(args, ['json', 'help', 'version', ...(c.booleans ?? [])]);
  if (a.flags.has('help')) { process.stdout.write(`${c.help}\n`); return 0; }
  if (c.subcommands && sub === undefined) throw new UsageError(`'${cmd}' needs a subcommand: ${c.subcommands.join(', ')} (see gdo ${cmd} --help)`);
  return c.run(sub, a, makeOutput(a.flags.get('json') === true));
}

export function exitCodeFor(e: unknown): number {
  if (e instanceof CliError) return e.exit;
  if (e instanceof UsageError) return 2;
  if (e instanceof LedgerError || e instanceof KeyFileError) return 3;
  return 1;
}

/** Whether argv asks for JSON output (before any `--`), so an error can be JSON too. */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--json' || a.startsWith('--json='));
}

/** A stable name for what went wrong, for scripts: the ledger's rejection code, or the kind of error. */
function errorCode(e: unknown): string {
  if (e instanceof UsageError) return 'usage';
  if (e instanceof LedgerError || e instanceof CliError) return e.code;
  if (e instanceof KeyFileError) return 'key_file';
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' && /^[A-Za-z][A-Za-z0-9_]*$/.test(c) ? c : 'failure';
}

/** Writes the error as the entry point does (one stderr line, or one JSON document with --json) and returns the exit code. */
export function reportError(e: unknown, argv: readonly string[]): number {
  const exit = exitCodeFor(e);
  const message = (e as Error | null)?.message ?? String(e);
  if (wantsJson(argv)) {
    process.stdout.write(`${JSON.stringify({ error: { code: errorCode(e), message }, exit })}\n`);
  } else {
    process.stderr.write(`gdo: ${e instanceof LedgerError || e instanceof CliError ? `${e.code}: ` : ''}${message}\n`);
  }
  return exit;
}

const isEntry = process.argv[1] !== undefined && /(?:gdo(?:\.js)?|main\.ts)$/.test(process.argv[1]);
if (isEntry) {
  const argv = process.argv.slice(2);
  main(argv).then((code) => { process.exitCode = code; }, (e: unknown) => { process.exitCode = reportError(e, argv); });
}
