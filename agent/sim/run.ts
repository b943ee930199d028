// `gdo sim` / `npm start`: the simulated site from start to a clean end. Commands come from a --script
// file, from a terminal (a prompt that live events print around), or from piped stdin (CI, no TTY).
// Ctrl-C, SIGTERM, `quit` or the end of the input all end the same way: SIGTERM to every agent, wait for
// each to exit with its outputs safe, remove the site's directory (unless --keep). A second Ctrl-C stops
// waiting and kills. No agent outlives the site even if this process is killed (agent-proc.ts).
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import { runLine, type CommandContext, type Outcome } from './commands.ts';
import { Display } from './display.ts';
import { Hands } from './hands.ts';
import { DEMO_PASSPHRASE, DESK, NODES, PEOPLE, SITE_NAME } from './plan.ts';
import { SimSite } from './site.ts';

export interface SimOptions {
  /** Where the site lives; default a new directory under the system temp dir. Must be empty or absent. */
  dir?: string;
  keep: boolean;
  script?: string;
  color: boolean;
}

export class SimUsageError extends Error {}

function claimDir(dir: string): string {
  const abs = resolve(dir);
  if (existsSync(abs) && readdirSync(abs).length > 0) throw new SimUsageError(`--dir ${dir} is not empty (the site needs a directory of its own)`);
  mkdirSync(abs, { recursive: true, mode: 0o700 });
  return abs;
}

export async function runSim(o: SimOptions): Promise<number> {
  const script = o.script === undefined ? undefined : readScript(o.script);
  const dir = o.dir !== undefined ? claimDir(o.dir) : mkdtempSync(join(tmpdir(), 'gdo-sim-'));
  const display = new Display({ color: o.color });
  const interactive = script === undefined && process.stdin.isTTY === true;
  display.text(`gdo simulated site: ${SITE_NAME}`, 'head');
  display.text(`  ${NODES.map((n) => n.name).join(', ')}: one \`gdo agent\` process each, simulated PN532 readers and fake GPIO;\n`
    + `  the admin's desk (${DESK}) signs in this process. Everything lives in ${dir}${o.keep ? ' (kept on exit)' : ' (removed on exit)'}`, 'dim');

  const site = new SimSite(dir, display);
  const hands = new Hands(site);
  let rl: Interface | undefined;
  let busy = true;
  let interrupts = 0;
  let stopRequested: (why: string) => void = () => undefined;
  const stopped = new Promise<string>((r) => { stopRequested = r; });
  const onSignal = (sig: string): void => {
    interrupts += 1;
    if (interrupts > 1) {
      display.text(`${sig} again: killing the agents`, 'deny');
      site.kill();
      return;
    }
    stopRequested(sig);
  };
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  for (const s of signals) process.on(s, onSignal);

  const ctx: CommandContext = { hands, display, interactive };
  const prompt = (): Promise<number> => new Promise((done) => {
    const r = createInterface({ input: process.stdin, output: process.stdout, terminal: true, prompt: 'gdo> ' });
    rl = r;
    // Live events print above the line being typed.
    display.setWriter((text) => {
      if (busy) { process.stdout.write(text); return; }
      clearLine(process.stdout, 0);
      cursorTo(process.stdout, 0);
      process.stdout.write(text);
      r.prompt(true);
    });
    const queue: string[] = [];
    const next = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      for (let line = queue.shift(); line !== undefined; line = queue.shift()) {
        if ((await runLine(line, ctx)) === 'quit') { done(0); return; }
      }
      busy = false;
      r.prompt();
    };
    r.on('line', (line) => { queue.push(line); void next(); });
    r.on('SIGINT', () => onSignal('SIGINT'));
    r.on('close', () => done(0));
    busy = false;
    r.prompt();
  });

  const work = (async (): Promise<number> => {
    await site.start();
    display.text(`people: ${PEOPLE.map((p) => `${p.id} (${p.short})`).join(', ')}`, 'dim');
    if (interactive) display.text('Type help for the commands, tour for a guided minute, quit (or Ctrl-C) to stop.', 'head');
    if (script !== undefined) return runAll(script, ctx);
    if (!interactive) {
      const code = await runAll(createInterface({ input: process.stdin, terminal: false }), ctx);
      display.text('end of input: stopping the site (commands come from a terminal, stdin or --script FILE)', 'dim');
      return code;
    }
    return prompt();
  })();

  let code = 0;
  const first = await Promise.race([
    work.then((c) => ({ code: c }), (err: unknown) => ({ err })),
    stopped.then((sig) => ({ sig })),
  ]);
  busy = true;
  if ('err' in first) {
    display.text(`! ${(first.err as Error).message}`, 'deny');
    code = 1;
  } else if ('code' in first) {
    code = first.code;
  } else {
    display.text(`\n${first.sig}: stopping the site`, 'head');
  }
  rl?.close();
  if (!interactive && script === undefined) process.stdin.destroy();
  const quiet = new Display({ color: o.color });
  display.setWriter(() => undefined); // whatever was still under way stays quiet now
  const reports = await site.stop();
  for (const r of reports) {
    // Exit 0 after its orderly stop; or ended by our SIGTERM before it had its handlers (still starting).
    const stoppedWell = !r.killed && (r.code === 0 || r.signal === 'SIGTERM') && r.outputsSafe !== false;
    const how = r.killed ? 'killed after not stopping in time' : r.signal ? `ended by ${r.signal}${r.signal === 'SIGTERM' ? ' while starting' : ''}` : `exit ${String(r.code)}`;
    const outs = r.outputsSafe === undefined ? '' : r.outputsSafe ? ', outputs safe (every line de-energised)' : ', OUTPUTS NOT SAFE';
    quiet.event(r.node, `agent stopped (${how})${outs}`, stoppedWell ? 'dim' : 'deny');
    if (!stoppedWell) code = code || 1;
  }
  if (o.keep) {
    quiet.text(`kept ${dir}: each node's disk in ${join(dir, '<node>')} (agent log in var/log/gdo-agent.log), the office's data directory in `
      + `${join(dir, DESK)} for the gdo CLI (operator key passphrase: ${DEMO_PASSPHRASE}), e.g. gdo access log --data ${join(dir, DESK)}`, 'dim');
  } else {
    rmSync(dir, { recursive: true, force: true });
    quiet.event('site', `removed ${dir}; nothing left running`, 'dim');
  }
  for (const s of signals) process.off(s, onSignal);
  return code;
}

function readScript(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split(/\r?\n/);
  } catch (err) {
    throw new SimUsageError(`--script ${file} cannot be read: ${(err as Error).message}`);
  }
}

/** Script lines or piped stdin, one after another, echoed; 1 when any command failed. */
async function runAll(lines: Iterable<string> | AsyncIterable<string>, ctx: CommandContext): Promise<number> {
  let failed = false;
  for await (const line of lines) {
    const text = line.trim();
    if (text !== '' && !text.startsWith('#')) ctx.display.text(`> ${text}`, 'cmd');
    const r: Outcome = await runLine(text, ctx);
    if (r === 'quit') break;
    if (r === 'failed') failed = true;
  }
  return failed ? 1 : 0;
}
