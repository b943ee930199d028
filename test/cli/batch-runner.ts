// Runs many gdo command lines in one process, so a test pays tsx's start-up once rather than per
// command: argv[2] is a JSON file of command lines, argv[3] the file the results go to. Each command
// goes through main() (dispatch, subcommands, --help, parsing) with stdout and stderr captured; a thrown
// error becomes the exit code and the one stderr line the entry point prints. end-to-end.test.ts
// checks that mapping on the real entry point.
import { readFileSync, writeFileSync } from 'node:fs';
import { main, reportError } from '../../agent/cli/main.ts';

export interface Run { code: number; stdout: string; stderr: string }

const [, , inFile, outFile] = process.argv;
const steps = JSON.parse(readFileSync(inFile!, 'utf8')) as string[][];
const results: Run[] = [];
const real = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
for (const argv of steps) {
  let stdout = '';
  let stderr = '';
  process.stdout.write = ((chunk: string | Uint8Array) => { stdout += String(chunk); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true; }) as typeof process.stderr.write;
  let code: number;
  try {
    code = await main(argv);
  } catch (e) {
    code = reportError(e, argv);
  } finally {
    process.stdout.write = real.out;
    process.stderr.write = real.err;
  }
  results.push({ code, stdout, stderr });
}
writeFileSync(outFile!, JSON.stringify(results));
