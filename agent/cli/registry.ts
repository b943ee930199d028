// The table of gdo's commands. Each command lives in its own file and registers here with one line,
// so `gdo --help` lists exactly what exists.
import type { Args } from './args.ts';
import type { Output } from './output.ts';

export interface Command {
  name: string;
  /** One line for `gdo --help`. */
  summary: string;
  /** Full text for `gdo <name> --help`. */
  help: string;
  /** Names of subcommands; when set, argv's first word after the command is the subcommand. */
  subcommands?: readonly string[];
  /** Options that take no value. */
  booleans?: readonly string[];
  run(sub: string | undefined, a: Args, out: Output): Promise<number> | number;
}
