// The gdo command line. Exit codes: 0 ok, 1 failure, 2 usage error, 3 verification failed.
// Errors are one clear line on stderr.
import { LedgerError } from '../ledger/errors.ts';
import { parseArgs, UsageError } from './args.ts';
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
import type { Command } from './registry.ts';
import { makeOutput } from './output.ts';

declare const GDO_VERSION: string | undefined;
export const VERSION = typeof GDO_VERSION === 'string' ? GDO_VERSION : '0.0.0-dev';

const COMMANDS: Command[] = [...ledgerCommands, ...staffCommands, ...accessCommands, ...imageCommands, ...provisionCommands, ...nodeCommands, ...firstbootCommands, ...agentCommands, ...brokerCommands, ...simCommands];

function overview(): string {
  const w = Math.max(...COMMANDS.map((c) => c.name.length)) + 2;
  const lines = COMMANDS.map((c) => `  ${c.name.padEnd(w)}${c.summary}`);
  return `gdo ${VERSION}: access control for maker spaces on a signed, mergeable ledger

usage: gdo <command> [subcommand] [options]

commands:
${lines.join('\n')}

common options: --data DIR (default $GDO_DATA or /var/lib/gdo), --json, --help, --version
exit codes: 0 ok, 1 failure, 2 usage error, 3 rejected or verification failed`;
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === 'help') { process.stdout.write(`${overview()}\n`); return cmd ? 0 : 2; }
  if (cmd === '--version') { process.stdout.write(`${VERSION}\n`); return 0; }
  const c = COMMANDS.find((x) => x.name === cmd);
  if (!c) throw new UsageError(`unknown command '${cmd}' (see gdo --help)`);
  let sub: string | undefined;
  let args = rest;
  if (c.subcommands && rest[0] !== undefined && !rest[0].startsWith('--')) {
    sub = rest[0];
    args = rest.slice(1);
    if (!c.subcommands.includes(sub)) throw new UsageError(`unknown subcommand '${cmd} ${sub}' (expected one of: ${c.subcommands.join(', ')})`);
  }
  const a = parseArgs(args, ['json', 'help', 'version', ...(c.booleans ?? [])]);
  if (a.flags.has('help')) { process.stdout.write(`${c.help}\n`); return 0; }
  if (c.subcommands && sub === undefined) throw new UsageError(`'${cmd}' needs a subcommand: ${c.subcommands.join(', ')} (see gdo ${cmd} --help)`);
  return c.run(sub, a, makeOutput(a.flags.get('json') === true));
}

function exitCodeFor(e: unknown): number {
  if (e instanceof UsageError) return 2;
  if (e instanceof LedgerError || e instanceof KeyFileError) return 3;
  return 1;
}

const isEntry = process.argv[1] !== undefined && /(?:gdo(?:\.js)?|main\.ts)$/.test(process.argv[1]);
if (isEntry) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e: unknown) => {
    const code = e instanceof LedgerError ? `${e.code}: ` : '';
    process.stderr.write(`gdo: ${code}${(e as Error)?.message ?? String(e)}\n`);
    process.exitCode = exitCodeFor(e);
  });
}
