// The daemon under test as a real child process (`node --import tsx agent/cli/main.ts agent --config F`):
// its JSON log lines, its status endpoint, its fake GPIO state file, and a PN532 simulator on the far end
// of a socat pseudo-terminal pair (the agent opens the near end with the real serial driver).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Pn532Simulator } from '../../drivers/pn532/simulator.ts';
import { SerialPortTransport } from '../../drivers/serial/serialport-transport.ts';
import { startPtyPair, waitFor, type PtyPair } from '../drivers/pn532/helpers.ts';

export { waitFor } from '../drivers/pn532/helpers.ts';

export const ROOT = new URL('../..', import.meta.url).pathname;
const MAIN = join(ROOT, 'agent', 'cli', 'main.ts');

export function tempDir(prefix = 'gdo-daemon-'): { dir: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeJson(path: string, value: unknown): string {
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
  return path;
}

/** `gdo ARGS` to completion. */
export function gdo(args: string[], env: NodeJS.ProcessEnv = {}): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export interface LogLine { level: string; msg: string; [k: string]: unknown }

export interface AgentProcess {
  proc: ChildProcess;
  /** Every stdout line, parsed (non-JSON lines are kept as { level: 'raw', msg }). */
  logs: LogLine[];
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  waitForLog(pred: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** http://127.0.0.1:PORT once the status endpoint logged its address. */
  url(): Promise<string>;
  get(path: string): Promise<{ status: number; text: string; json(): unknown }>;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function spawnAgent(config: string, opts: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; args?: string[] } = {}): AgentProcess {
  const proc = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', MAIN, 'agent', '--config', config, ...(opts.args ?? [])], {
    cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let partial = '';
  const logs: LogLine[] = [];
  proc.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    partial += c.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ level: 'raw', msg: line });
      }
    }
  });
  proc.stderr!.on('data', (c: Buffer) => { err += c.toString(); });
  let done: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => { done = { code, signal }; resolve(done); });
  });
  const agent: AgentProcess = {
    proc,
    logs,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForLog(pred, what, timeoutMs = 20_000) {
      await waitFor(() => logs.some(pred) || done !== undefined, what, timeoutMs);
      const hit = logs.find(pred);
      if (!hit) throw new Error(`agent exited (${JSON.stringify(done)}) before ${what}: ${err}${out.slice(-3000)}`);
      return hit;
    },
    async url() {
      const l = await agent.waitForLog((x) => typeof x['http'] === 'object', 'the status endpoint address');
      const a = l['http'] as { port: number };
      return `http://127.0.0.1:${a.port}`;
    },
    async get(path) {
      const res = await fetch(`${await agent.url()}${path}`);
      const text = await res.text();
      return { status: res.status, text, json: () => JSON.parse(text) as unknown };
    },
    async stop(signal = 'SIGTERM') {
      if (done === undefined) proc.kill(signal);
      return exited;
    },
  };
  return agent;
}

/** A PN532 simulator behind a socat pty pair; the agent's reader config points at `path`. */
export interface SimReader {
  path: string;
  sim: Pn532Simulator;
  pair: PtyPair;
  /** The adapter vanishes (socat killed: the agent's port closes) and comes back. */
  unplug(): Promise<void>;
  replug(): Promise<void>;
  dispose(): Promise<void>;
}

export async function simReader(): Promise<SimReader> {
  const pair = await startPtyPair();
  const sim = new Pn532Simulator();
  let side: SerialPortTransport | undefined;
  let detach: (() => void) | undefined;
  const connect = async (): Promise<void> => {
    side = new SerialPortTransport({ path: pair.ptys[1] });
    await side.open();
    detach = sim.attach(side);
  };
  const disconnect = async (): Promise<void> => {
    detach?.();
    sim.cancelOutput();
    await side?.close();
  };
  await connect();
  return {
    path: pair.hostLink,
    sim,
    pair,
    unplug: async () => { await pair.kill(); await disconnect(); },
    replug: async () => { await pair.restart(); await connect(); },
    dispose: async () => { await disconnect(); await pair.dispose(); },
  };
}

export interface FakeLines { lines: Record<string, { mode: string; level: 0 | 1; label?: string }> }

export function readGpio(file: string): FakeLines {
  return JSON.parse(readFileSync(file, 'utf8')) as FakeLines;
}

/** A door node on fake GPIO: strike 17, door switch 24, REX 6 (active low), LED 22, buzzer 23. */
export function doorConfig(dir: string, readerPath: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  mkdirSync(dir, { recursive: true, mode: 0o700 }); // as first boot leaves it: the agent refuses a state_dir that does not exist
  return {
    node: { name: 'front-door' },
    state_dir: dir,
    readers: [{ id: 'main', path: readerPath, poll_ms: 50 }],
    gpio: { backend: 'fake', fake_state_file: 'gpio.json' },
    doors: [{
      id: 'front',
      unlock_ms: 5000,
      pins: {
        strike: { line: 17 }, door_switch: { line: 24 }, rex: { line: 6, active_low: true, debounce_ms: 0 },
        led: { line: 22 }, buzzer: { line: 23 },
      },
    }],
    http: { listen: '127.0.0.1:0' },
    ...extra,
  };
}

export const UID = Buffer.from('04a31261ee0280', 'hex');

/** Every way a UID could show up in text: hex either case, with separators, as decimal bytes. */
export function uidForms(uid: Buffer): string[] {
  const hex = uid.toString('hex');
  return [hex, hex.toUpperCase(), [...uid].map((b) => b.toString(16).padStart(2, '0')).join(':'), uid.toString('base64'), JSON.stringify([...uid])];
}
