// The simulated site as a real process for the tests: `node scripts/start.mjs` (what `npm start` runs) or
// `gdo sim`, its output, and what it must leave behind when it is gone: no process, no directory, no port.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const ROOT = new URL('../..', import.meta.url).pathname;

export interface SimProcess {
  proc: ChildProcess;
  out(): string;
  err(): string;
  /** Resolves with the first match of `re` in stdout; rejects on exit or after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** The site's directory, from its banner. */
  dir(): string;
}

export function spawnSim(args: string[], opts: { via: 'npm-start' | 'gdo'; stdin?: 'ignore' | 'pipe' }): SimProcess {
  const entry = opts.via === 'npm-start' ? [join(ROOT, 'scripts/start.mjs')] : ['--import', 'tsx', join(ROOT, 'agent/cli/main.ts'), 'sim'];
  const proc = spawn(process.execPath, [...entry, '--no-color', ...args], {
    cwd: ROOT, env: { ...process.env, CI: 'true' }, stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (c: Buffer) => { out += c.toString(); });
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  let done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => { done = { code, signal }; resolve(done); });
  });
  return {
    proc,
    out: () => out,
    err: () => err,
    exited,
    async waitFor(re, timeoutMs = 60_000) {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const m = out.match(re);
        if (m) return m;
        if (done) throw new Error(`the site exited (${JSON.stringify(done)}) before ${String(re)}:\n${out}\n${err}`);
        if (Date.now() > end) throw new Error(`no ${String(re)} within ${timeoutMs} ms:\n${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    dir() {
      const m = /Everything lives in (\S+)/.exec(out);
      if (!m) throw new Error(`no directory in the banner:\n${out}`);
      return m[1]!;
    },
  };
}

/** Processes whose command line mentions `text` (the site's directory is in every agent's --config). */
export function processesMentioning(text: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(text)) found.push(Number(name));
    } catch { /* gone meanwhile */ }
  }
  return found;
}

export function alive(pid: number): boolean {
  if (!existsSync(`/proc/${pid}`)) return false;
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')); // a zombie has exited
  } catch {
    return false;
  }
}

/** True when a listener can take the port again. */
export async function portFree(port: number): Promise<boolean> {
  const s = createServer();
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Every port the site's banner lines name: status endpoints and the hub's broker. */
export function portsIn(out: string): number[] {
  const ports = [...out.matchAll(/status http:\/\/127\.0\.0\.1:(\d+)\/status|MQTT broker on 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1] ?? m[2]));
  return [...new Set(ports)];
}

export function agentPids(out: string): number[] {
  return [...out.matchAll(/agent up \(pid (\d+)/g)].map((m) => Number(m[1]));
}

/** Each `> command` with the lines it printed, in order. */
export function blocks(out: string): { cmd: string; text: string }[] {
  const parts = out.split(/^> /m).slice(1);
  return parts.map((p) => {
    const nl = p.indexOf('\n');
    return { cmd: p.slice(0, nl).trim(), text: p.slice(nl + 1) };
  });
}
