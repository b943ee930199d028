// Shared helpers for the PN532 driver tests: waiting without timing assertions, and a socat
// pseudo-terminal pair that can be killed and restarted to simulate an unplugged adapter.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Waits until `check` returns true; generous timeout, never asserts on elapsed time. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export function socatAvailable(): boolean {
  return spawnSync('socat', ['-V'], { stdio: 'ignore' }).status === 0;
}

export interface PtyPair {
  /** Stable symlinks (they survive a socat restart); the driver opens `hostLink`. */
  hostLink: string;
  simLink: string;
  /** The /dev/pts paths socat reported on stderr for the current run. */
  ptys: [string, string];
  restart(): Promise<void>;
  kill(): Promise<void>;
  dispose(): Promise<void>;
}

/** `socat -d -d pty,raw,echo=0 pty,raw,echo=0`, with link= so the paths survive a restart. */
export async function startPtyPair(): Promise<PtyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'gdo-pn532-'));
  const hostLink = join(dir, 'host');
  const simLink = join(dir, 'sim');
  let proc: ChildProcess | undefined;
  const pair: PtyPair = {
    hostLink,
    simLink,
    ptys: ['', ''],
    restart: async () => {
      const started = await spawnSocat(hostLink, simLink);
      proc = started.proc;
      pair.ptys = started.ptys;
    },
    kill: async () => {
      const p = proc;
      proc = undefined;
      if (!p || p.exitCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await exited;
    },
    dispose: async () => {
      await pair.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await pair.restart();
  return pair;
}

async function spawnSocat(hostLink: string, simLink: string): Promise<{ proc: ChildProcess; ptys: [string, string] }> {
  const proc = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${hostLink}`, `pty,raw,echo=0,link=${simLink}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const ptys: string[] = [];
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`socat did not report two ptys: ${stderr}`)), 15_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`socat exited (${code}): ${stderr}`));
    });
    proc.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      // "... N PTY is /dev/pts/7" once per address, then "starting data transfer loop".
      for (const m of stderr.matchAll(/PTY is (\/dev\/pts\/\d+)/g)) if (!ptys.includes(m[1]!)) ptys.push(m[1]!);
      if (ptys.length === 2 && /starting data transfer loop/.test(stderr)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  proc.removeAllListeners('exit');
  proc.stderr!.resume();
  // If the test process dies before dispose(), do not leave socat behind.
  const reap = (): void => void proc.kill('SIGTERM');
  process.once('exit', reap);
  proc.once('exit', () => process.off('exit', reap));
  return { proc, ptys: [ptys[0]!, ptys[1]!] };
}
