// The gdo command line. Exit codes: 0 ok, 1 failure, 2 usage error, 3 verification failed.
// Errors are one clear line on stderr.
import { LedgerError } from '../ledger/errors.ts';
import { parseArgs, UsageError } from './args.ts';
import { KeyFileError } from './keyfile.ts';
import { cmdInit, cmdLedger } from './ledger-cmds.ts';
import { makeOutput } from './output.ts';

declare const GDO_VERSION: string | undefined;
export const VERSION = typeof GDO_VERSION === 'string' ? GDO_VERSION : '0.0.0-dev';

const HELP: Record<string, string> = {
  '': `gdo ${VERSION}: access control for maker spaces on a signed, mergeable ledger

usage: gdo <command> [options]

commands:
  init                      create an organisation: genesis and the founding admin's key
  ledger show|state|verify|export|import
                            inspect, check and move the ledger (bundles for USB sticks)
  bench                     run benchmarks (npm run bench)

common options: --data DIR (default $GDO_DATA or /var/lib/gdo), --json, --help, --version`,
  init: `usage: gdo init --name NAME [--admin-name NAME] [--data DIR] [--key FILE] [--passphrase-file F] [--json]
Creates the ledger in DIR with a genesis naming you as the founding admin, and your key file
(passphrase-protected; GDO_PASSPHRASE or --passphrase-file for scripts).`,
  ledger: `usage: gdo ledger <show|state|verify|export|import> [--data DIR] [--json]
  show [--limit N]     the last N events in fold order
  state                heads, event count, state hash, pending, soft-failed, equivocations
  verify               re-check every signature and re-fold the state from scratch
  export --out FILE    write every event to a bundle file
  import FILE          import a bundle: all of it or nothing`,
};

export async function main(argv: string[]): Promise<number> {
  const booleans = ['json', 'help', 'version'];
  const [cmd, ...rest] = argv;
  if (!cmd || cmd === '--help' || cmd === 'help') { process.stdout.write(`${HELP['']}\n`); return cmd ? 0 : 2; }
  if (cmd === '--version') { process.stdout.write(`${VERSION}\n`); return 0; }
  const sub = cmd === 'ledger' ? rest[0] : undefined;
  const a = parseArgs(cmd === 'ledger' ? rest.slice(1) : rest, booleans);
  if (a.flags.has('help')) { process.stdout.write(`${HELP[cmd] ?? HELP['']!}\n`); return 0; }
  const out = makeOutput(a.flags.get('json') === true);
  switch (cmd) {
    case 'init': return cmdInit(a, out);
    case 'ledger': return cmdLedger(sub, a, out);
    default: throw new UsageError(`unknown command '${cmd}' (see gdo --help)`);
  }
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
