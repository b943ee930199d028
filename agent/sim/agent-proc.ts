// One `gdo agent --config FILE` child process of the simulated site: its JSON log lines as events, its
// status endpoint (address read from its log), and an orderly stop (SIGTERM, wait, SIGKILL as a last
// resort). Started from the sources through tsx, or from the bundle's entry file when the site itself runs
// from the bundle.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { EventEmitter } from 'node:events';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { entryFile } from '../cli/entry-file.ts';

export interface LogLine { level: string; msg: string; [k: string]: unknown }

// An agent whose site process is gone stops itself: its stdin is a pipe from the site, which the kernel
// closes when the site exits however it exits (even SIGKILL), and the agent then takes the same orderly
// SIGTERM path as always (outputs safe, ledger closed). A data: URL, so it needs no file beside the bundle.
// Worker threads inherit --import, and a worker's process.stdin ends at once: only the main thread watches
// (the ledger's writer thread would otherwise stop the agent as soon as it starts).
const ORPHAN_GUARD = 'data:text/javascript,' + encodeURIComponent("import{isMainThread}from'node:worker_threads';if(isMainThread){"
  + "process.stdin.on('error',()=>{});process.stdin.on('end',()=>process.kill(process.pid,'SIGTERM'));process.stdin.resume();}");

/**
 * How to start `gdo`: the bundle's entry file when running from the bundle (this module is then in a
 * chunk, which runs nothing when started), else the TypeScript sources through tsx.
 */
export function gdoCommand(): { args: string[]; cwd: string } {
  const entry = entryFile();
  if (entry !== undefined) return { args: ['--import', ORPHAN_GUARD, entry], cwd: dirname(entry) };
  const self = fileURLToPath(import.meta.url);
  if (!self.endsWith('.ts')) throw new Error(`gdo sim: ${self} is part of a bundle that was not started through its entry file (dist/gdo.js)`);
  const root = resolve(dirname(self), '../..');
  return { args: ['--import', 'tsx', '--import', ORPHAN_GUARD, join(root, 'agent/cli/main.ts')], cwd: root };
}

const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

export class AgentProc extends EventEmitter<{ line: [LogLine]; exit: [number | null, NodeJS.Signals | null] }> {
  readonly name: string;
  readonly #config: string;
  readonly #logFile: string;
  #log: WriteStream | undefined;
  #proc: ChildProcess | undefined;
  #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  #done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  #url: string | undefined;
  #stderr = '';
  readonly seen: LogLine[] = [];

  /** `logFile` keeps the agent's JSON log (journald's part on a real node) for a look after --keep. */
  constructor(name: string, config: string, logFile: string) {
    super();
    this.name = name;
    this.#config = config;
    this.#logFile = logFile;
  }

  get pid(): number | undefined { return this.#proc?.pid; }
  get url(): string | undefined { return this.#url; }
  get running(): boolean { return this.#proc !== undefined && this.#done === undefined; }
  /** The last lines the agent wrote on stderr (a crash before its logger started). */
  get stderr(): string { return this.#stderr.slice(-2000); }

  start(): void {
    const cmd = gdoCommand();
    // Not systemd's: when the site itself runs under a unit, its agents must not speak for it.
    const env = { ...process.env };
    delete env['NOTIFY_SOCKET'];
    delete env['WATCHDOG_USEC'];
    delete env['WATCHDOG_PID'];
    const proc = spawn(process.execPath, [...cmd.args, 'agent', '--config', this.#config], { cwd: cmd.cwd, stdio: ['pipe', 'pipe', 'pipe'], env });
    this.#proc = proc;
    const log = createWriteStream(this.#logFile, { flags: 'a', mode: 0o600 });
    log.on('error', () => { /* the display still shows what matters */ });
    this.#log = log;
    proc.stdout!.pipe(log);
    proc.stdin!.on('error', () => { /* the agent is gone; its exit is reported below */ });
    let partial = '';
    proc.stdout!.on('data', (c: Buffer) => {
      partial += c.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const text of lines) if (text.trim() !== '') this.#line(text);
    });
    proc.stderr!.on('data', (c: Buffer) => { this.#stderr = (this.#stderr + c.toString()).slice(-8000); });
    this.#exited = new Promise((res) => {
      proc.once('exit', (code, signal) => {
        this.#done = { code, signal };
        this.#log?.end();
        this.emit('exit', code, signal);
        res(this.#done);
      });
    });
  }

  #line(text: string): void {
    let l: LogLine;
    try {
      const raw = JSON.parse(text) as Record<string, unknown>;
      const level = typeof raw['level'] === 'number' ? LEVELS[raw['level']] ?? 'info' : String(raw['level'] ?? 'info');
      l = { ...raw, level, msg: String(raw['msg'] ?? '') };
    } catch {
      l = { level: 'raw', msg: text };
    }
    if (typeof l['http'] === 'object' && l['http'] !== null) this.#url = `http://127.0.0.1:${(l['http'] as { port: number }).port}`;
    this.seen.push(l);
    if (this.seen.length > 500) this.seen.shift();
    this.emit('line', l);
  }

  /** The first line (from now on, or already seen when `past`) that matches; rejects on timeout or exit. */
  waitFor(pred: (l: LogLine) => boolean, what: string, timeoutMs: number, past = true): Promise<LogLine> {
    const hit = past ? this.seen.find(pred) : undefined;
    if (hit) return Promise.resolve(hit);
    return new Promise((res, rej) => {
      const onLine = (l: LogLine): void => { if (pred(l)) { done(); res(l); } };
      const onExit = (): void => { done(); rej(new Error(`${this.name} exited before ${what}${this.#stderr ? `: ${this.stderr.trim()}` : ''}`)); };
      const timer = setTimeout(() => { done(); rej(new Error(`${this.name}: waited ${timeoutMs / 1000} s for ${what} in vain`)); }, timeoutMs);
      const done = (): void => { clearTimeout(timer); this.off('line', onLine); this.off('exit', onExit); };
      this.on('line', onLine);
      this.on('exit', onExit);
    });
  }

  async get<T>(path: string): Promise<T> {
    if (!this.#url) throw new Error(`${this.name}: status endpoint not up yet`);
    const res = await fetch(`${this.#url}${path}`, { signal: AbortSignal.timeout(3000) });
    return await res.json() as T;
  }

  /** The simulated hardware's hands (agent/daemon/sim-control.ts); throws with the agent's own error text. */
  async sim(method: 'POST' | 'DELETE', path: string, body?: unknown): Promise<void> {
    if (!this.#url) throw new Error(`${this.name}: status endpoint not up yet`);
    const res = await fetch(`${this.#url}${path}`, {
      method, signal: AbortSignal.timeout(3000), ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${this.name}: ${method} ${path}: ${(JSON.parse(text) as { error?: string }).error ?? res.status}`);
  }

  /** SIGTERM and wait; SIGKILL after `timeoutMs` (the agent's own stop gives up after 10 s). */
  async stop(timeoutMs = 12_000): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
    const proc = this.#proc;
    if (!proc || !this.#exited) return { code: 0, signal: null, killed: false };
    if (this.#done) return { ...this.#done, killed: false };
    proc.kill('SIGTERM');
    let killed = false;
    const timer = setTimeout(() => { killed = true; proc.kill('SIGKILL'); }, timeoutMs);
    const r = await this.#exited;
    clearTimeout(timer);
    return { ...r, killed };
  }

  /** At once, for a second Ctrl-C. */
  kill(): void {
    if (this.#proc && !this.#done) this.#proc.kill('SIGKILL');
  }
}
