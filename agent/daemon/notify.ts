// Talking to systemd over $NOTIFY_SOCKET (READY=1, WATCHDOG=1, STOPPING=1, STATUS=...) without a native
// addon.
//
// The protocol (sd_notify(3), NOTES): one datagram of newline-separated KEY=VALUE pairs to the AF_UNIX
// datagram socket named in $NOTIFY_SOCKET (a leading "@" means the abstract namespace). systemd learns who
// sent it from the SCM_CREDENTIALS the kernel attaches, and under NotifyAccess=main (our unit) it drops
// every message whose credentials do not name the service's main PID.
//
// Node cannot send that datagram itself: dgram speaks only udp4/udp6, net only stream sockets, and a
// stream socket cannot connect to systemd's SOCK_DGRAM socket (EPROTOTYPE). Node could write a datagram
// with fs.writeSync on a connected datagram fd, but nothing can hand it one once it runs: Node 20 has no
// execve, and its IPC channel only adopts fds it recognises (TCP, pipes, UDP). Path or abstract address
// makes no difference; both are datagram-only.
//
// So each message goes through systemd-notify(1), part of systemd and therefore present wherever systemd
// sets $NOTIFY_SOCKET. It sends on behalf of its parent (sd_pid_notify(getppid(), ...)): the credentials
// name this process. The kernel accepts credentials naming another PID from a sender with CAP_SYS_ADMIN,
// which the agent has (it runs as root for GPIO and the UART), so systemd sees the main PID and
// NotifyAccess=main holds; and since the PID named is ours and alive, there is no race with the helper
// exiting before systemd reads the message (systemd issue #2739). Without CAP_SYS_ADMIN the helper falls
// back to its own PID, systemd drops the message, and the watchdog restarts the agent: loud, never a
// silently unsupervised agent. --no-block skips the BARRIER=1 round trip: a ping must not wait on PID 1.
// Rejected: NotifyAccess=all (anyone in the cgroup could speak for the agent), an exec wrapper holding a
// connected socket (python or socat on every node), a native addon (one more arm64 cross-build).
import { spawn } from 'node:child_process';
import type { Logger } from './log.ts';
import { errText } from './log.ts';

export interface Notifier {
  /** $NOTIFY_SOCKET is set: systemd (or a test) listens. */
  readonly enabled: boolean;
  /** Ping interval the service manager asked for (half of WATCHDOG_USEC), when it asked this process. */
  readonly watchdogIntervalMs: number | undefined;
  /** Sends the fields as one message; resolves true once the helper reported success. Never rejects. */
  send(fields: Record<string, string>): Promise<boolean>;
}

export type SpawnHelper = (args: string[], env: NodeJS.ProcessEnv) => Promise<{ code: number | null; stderr: string }>;

const HELPER_TIMEOUT_MS = 5_000;

export const runSystemdNotify: SpawnHelper = (args, env) => new Promise((resolve, reject) => {
  const child = spawn('systemd-notify', args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const timer = setTimeout(() => child.kill('SIGKILL'), HELPER_TIMEOUT_MS);
  child.once('error', (err) => { clearTimeout(timer); reject(err); });
  child.once('close', (code) => { clearTimeout(timer); resolve({ code, stderr: stderr.trim() }); });
});

/** WATCHDOG_USEC is meant for us unless WATCHDOG_PID names another process (sd_watchdog_enabled(3)). */
export function watchdogInterval(env: NodeJS.ProcessEnv, pid = process.pid): number | undefined {
  const usec = Number(env['WATCHDOG_USEC']);
  if (!Number.isFinite(usec) || usec <= 0) return undefined;
  const forPid = env['WATCHDOG_PID'];
  if (forPid !== undefined && forPid !== '' && Number(forPid) !== pid) return undefined;
  return Math.max(1, Math.floor(usec / 2000));
}

export class SystemdNotifier implements Notifier {
  readonly enabled: boolean;
  readonly watchdogIntervalMs: number | undefined;
  readonly #env: NodeJS.ProcessEnv;
  readonly #log: Logger;
  readonly #run: SpawnHelper;
  #queue: Promise<unknown> = Promise.resolve();
  #pingQueued = false;
  #broken = false;
  sent = 0;
  failed = 0;

  constructor(opts: { env?: NodeJS.ProcessEnv; log: Logger; run?: SpawnHelper }) {
    this.#env = opts.env ?? process.env;
    this.#log = opts.log;
    this.#run = opts.run ?? runSystemdNotify;
    const socket = this.#env['NOTIFY_SOCKET'] ?? '';
    this.enabled = socket.startsWith('/') || socket.startsWith('@');
    if (socket !== '' && !this.enabled) this.#log.warn({ notify_socket: socket }, 'NOTIFY_SOCKET is not an AF_UNIX address; not notifying');
    this.watchdogIntervalMs = this.enabled ? watchdogInterval(this.#env) : undefined;
  }

  send(fields: Record<string, string>): Promise<boolean> {
    if (!this.enabled || this.#broken) return Promise.resolve(false);
    const ping = Object.keys(fields).length === 1 && fields['WATCHDOG'] === '1';
    if (ping && this.#pingQueued) return Promise.resolve(true); // one queued ping is as good as two
    if (ping) this.#pingQueued = true;
    const args = ['--no-block', ...Object.entries(fields).map(([k, v]) => `${k}=${v.replace(/\n/g, ' ')}`)];
    const next = this.#queue.then(async () => {
      if (ping) this.#pingQueued = false;
      return this.#deliver(args);
    });
    this.#queue = next;
    return next;
  }

  async #deliver(args: string[]): Promise<boolean> {
    try {
      const { code, stderr } = await this.#run(args, this.#env);
      if (code === 0) {
        this.sent += 1;
        return true;
      }
      this.failed += 1;
      this.#log.warn({ code, stderr }, `systemd-notify failed: ${stderr || `exit ${code}`}`);
    } catch (err) {
      this.failed += 1;
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#broken = true;
        this.#log.error('NOTIFY_SOCKET is set but systemd-notify is not installed: readiness and watchdog pings cannot be sent');
      } else {
        this.#log.warn({ err }, `systemd-notify could not run: ${errText(err)}`);
      }
    }
    return false;
  }
}
