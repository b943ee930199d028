// A real Mosquitto broker for tests: its own temp dir and config, a free loopback port,
// started and stopped per test. Contract tests run the sync layer against this and the
// embedded aedes broker (docs/design-notes.md habit 4). Brokers are killed at process exit too, so a
// failed test never leaves one running.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from './free-port.ts';

export interface MosquittoOptions {
  /** Port to listen on (127.0.0.1); default: a free one. */
  port?: number;
  /** Extra lines appended to the generated mosquitto.conf. */
  config?: string;
  /** Path of a mosquitto_passwd file; when given, anonymous clients are refused. */
  passwordFile?: string;
  /** Path of an ACL file. */
  aclFile?: string;
  /** Keep retained messages and sessions in the temp dir across restart(). Default false. */
  persistence?: boolean;
  /** How long to wait for the port to accept connections. Default 15 s (loaded CI machines). */
  startTimeoutMs?: number;
}

export interface MosquittoBroker {
  port: number;
  url: string;
  /** Temp dir holding mosquitto.conf, the log and the persistence file. */
  dir: string;
  /** Kills the broker and removes its dir. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops and starts the broker on the same port, keeping its dir (and persisted data). */
  restart(): Promise<void>;
  /** Stops the broker process only (an outage); up() starts it again on the same port. */
  down(): Promise<void>;
  up(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function killAllAtExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers must be synchronous; SIGKILL needs no waiting.
  process.on('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

export function findMosquitto(): string {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  for (const d of dirs) {
    const p = join(d, 'mosquitto');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here; keep looking
    }
  }
  throw new Error('mosquitto broker not found in PATH, /usr/sbin or /usr/local/sbin: install it with `apt-get install mosquitto` (CI installs it)');
}

function writeConfig(dir: string, port: number, opts: MosquittoOptions): string {
  const lines = [
    `listener ${port} 127.0.0.1`,
    `allow_anonymous ${opts.passwordFile ? 'false' : 'true'}`,
    `persistence ${opts.persistence ? 'true' : 'false'}`,
    `persistence_location ${dir}/`,
    'log_dest stderr',
    'log_type error',
    'log_type warning',
  ];
  // Started as root, mosquitto switches to user "mosquitto", which cannot read our temp dir.
  if (process.getuid?.() === 0) lines.push('user root');
  if (opts.passwordFile) lines.push(`password_file ${opts.passwordFile}`);
  if (opts.aclFile) lines.push(`acl_file ${opts.aclFile}`);
  if (opts.config) lines.push(opts.config);
  const path = join(dir, 'mosquitto.conf');
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Spawns the broker and resolves once the port accepts TCP connections. */
async function launch(bin: string, conf: string, port: number, timeoutMs: number): Promise<ChildProcess> {
  const child = spawn(bin, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  live.add(child);
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (log.length < 8192) log += d.toString();
  });
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    live.delete(child);
    exited = `exited with ${signal ?? `code ${code}`}`;
  });
  child.once('error', (e) => {
    exited = `failed to spawn: ${e.message}`;
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) throw new Error(`mosquitto on port ${port} ${exited} before accepting connections:\n${log.trim()}`);
    if (await canConnect(port)) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`mosquitto did not accept connections on 127.0.0.1:${port} within ${timeoutMs} ms:\n${log.trim()}`);
    }
    await sleep(50);
  }
}

async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((r) => child.once('exit', () => r()));
  // SIGTERM lets mosquitto save its persistence file; SIGKILL if it does not go quietly.
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await gone;
  clearTimeout(timer);
  live.delete(child);
}

export async function startMosquitto(opts: MosquittoOptions = {}): Promise<MosquittoBroker> {
  const bin = findMosquitto();
  killAllAtExit();
  const dir = mkdtempSync(join(tmpdir(), 'gdo-mosquitto-'));
  const timeoutMs = opts.startTimeoutMs ?? 15_000;
  let port = opts.port ?? (await freePort());
  let child: ChildProcess | undefined;
  // A port found free can be taken by someone else before mosquitto binds it: retry.
  for (let attempt = 1; !child; attempt++) {
    const conf = writeConfig(dir, port, opts);
    try {
      child = await launch(bin, conf, port, timeoutMs);
    } catch (e) {
      if (opts.port !== undefined || attempt >= 3) {
        rmSync(dir, { recursive: true, force: true });
        throw e;
      }
      port = await freePort();
    }
  }
  const conf = join(dir, 'mosquitto.conf');
  let stopped = false;
  const broker: MosquittoBroker = {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    dir,
    async stop() {
      stopped = true;
      if (child) await terminate(child);
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      if (stopped) throw new Error('restart() after stop()');
      if (child) await terminate(child);
      child = undefined;
      child = await launch(bin, conf, port, timeoutMs);
    },
    async down() {
      if (stopped) throw new Error('down() after stop()');
      if (child) await terminate(child);
      child = undefined;
    },
    async up() {
      if (stopped) throw new Error('up() after stop()');
      if (!child) child = await launch(bin, conf, port, timeoutMs);
    },
  };
  return broker;
}
