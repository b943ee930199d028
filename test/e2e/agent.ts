// One node's `gdo agent --config ROOT/etc/gdo/agent.json` from the installed bundle (test/e2e/installed.ts),
// as gdo-agent.service runs it: its JSON log lines, its status endpoint, its fake GPIO header. Stopping it and
// starting another is a reboot: nothing carries over but the node's disk.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '../drivers/pn532/helpers.ts';
import type { Installed } from './installed.ts';

export interface LogLine { level: number | string; msg: string; [k: string]: unknown }
export interface Decision { kind: string; resource: string; allow: boolean; reason: string; member_id?: string }

export class NodeAgent {
  readonly name: string;
  readonly root: string;
  readonly logs: LogLine[] = [];
  #proc: ChildProcess | undefined;
  #exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;
  #done = false;
  #stderr = '';
  #url: string | undefined;
  readonly #inst: Installed;

  constructor(inst: Installed, name: string, root: string) {
    this.#inst = inst;
    this.name = name;
    this.root = root;
  }

  get config(): string { return join(this.root, 'etc/gdo/agent.json'); }
  get stateDir(): string { return join(this.root, 'var/lib/gdo'); }
  get running(): boolean { return this.#proc !== undefined && !this.#done; }

  start(): void {
    if (this.running) throw new Error(`${this.name} is already running`);
    this.logs.length = 0;
    this.#url = undefined;
    this.#done = false;
    this.#stderr = '';
    const env = { ...process.env };
    delete env['GDO_PASSPHRASE'];
    const proc = spawn(process.execPath, this.#inst.argv(['agent', '--config', this.config]), { cwd: this.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.#proc = proc;
    let partial = '';
    proc.stdout!.on('data', (c: Buffer) => {
      partial += c.toString();
      const lines = partial.split('\n');
      partial = lines.pop()!;
      for (const text of lines) {
        if (text.trim() === '') continue;
        try { this.logs.push(JSON.parse(text) as LogLine); } catch { this.logs.push({ level: 'raw', msg: text }); }
      }
    });
    proc.stderr!.on('data', (c: Buffer) => { this.#stderr = (this.#stderr + c.toString()).slice(-8000); });
    this.#exit = new Promise((resolve) => proc.once('exit', (code, signal) => { this.#done = true; resolve({ code, signal }); }));
  }

  async waitForLog(pred: (l: LogLine) => boolean, what: string, timeoutMs = 30_000): Promise<LogLine> {
    await waitFor(() => this.logs.some(pred) || this.#done, `${this.name}: ${what}`, timeoutMs);
    const hit = this.logs.find(pred);
    if (!hit) throw new Error(`${this.name} exited before ${what}: ${this.#stderr}\n${this.tail()}`);
    return hit;
  }

  tail(n = 30): string {
    return this.logs.slice(-n).map((l) => JSON.stringify(l)).join('\n');
  }

  async url(): Promise<string> {
    if (this.#url) return this.#url;
    const l = await this.waitForLog((x) => typeof x['http'] === 'object', 'the status endpoint address');
    this.#url = `http://127.0.0.1:${(l['http'] as { port: number }).port}`;
    return this.#url;
  }

  async status(): Promise<Record<string, unknown>> {
    const res = await fetch(`${await this.url()}/status`);
    return await res.json() as Record<string, unknown>;
  }

  /** Decisions logged since `from` (an index into logs). */
  decisions(from = 0): Decision[] {
    return this.logs.slice(from).flatMap((l) => (typeof l['decision'] === 'object' && l['decision'] !== null ? [l['decision'] as Decision] : []));
  }

  /** The fake GPIO header's lines as the agent last wrote them (gpio.fake_state_file). */
  gpio(file = 'gpio-state.json'): Record<string, { mode: string; level: 0 | 1 }> {
    return (JSON.parse(readFileSync(join(this.stateDir, file), 'utf8')) as { lines: Record<string, { mode: string; level: 0 | 1 }> }).lines;
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (!this.#proc || !this.#exit) return { code: null, signal: null };
    if (!this.#done) this.#proc.kill(signal);
    const timer = setTimeout(() => this.#proc?.kill('SIGKILL'), 20_000);
    try { return await this.#exit; } finally { clearTimeout(timer); }
  }
}
