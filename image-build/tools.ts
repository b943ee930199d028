// Runs the host tools the rootless build relies on (docs/design-notes.md "Rootless injection"). Every tool runs with
// LC_ALL=C (stable messages to parse) and, where it honours one, a fixed clock so the bytes it writes do not
// depend on when the build ran.
import { spawn } from 'node:child_process';
import { ImageError } from './errors.ts';

/** Debian package that provides each tool, named in IMAGE_TOOL_MISSING messages. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  sfdisk: 'fdisk',
  debugfs: 'e2fsprogs',
  e2fsck: 'e2fsprogs',
  resize2fs: 'e2fsprogs',
  mke2fs: 'e2fsprogs',
  mcopy: 'mtools',
  mmd: 'mtools',
  mdir: 'mtools',
  'fsck.vfat': 'dosfstools',
  'mkfs.vfat': 'dosfstools',
  xz: 'xz-utils',
  tar: 'tar',
  npm: 'npm (Node.js)',
  'aarch64-linux-gnu-g++': 'g++-aarch64-linux-gnu',
  'aarch64-linux-gnu-gcc': 'gcc-aarch64-linux-gnu',
  'qemu-aarch64': 'qemu-user',
  make: 'make',
  python3: 'python3',
};

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  input?: string | Buffer;
  /** Exit codes that are not failures (e2fsck uses 1 and 2 for "fixed"). */
  okCodes?: number[];
  /** Error code for a non-zero exit; IMAGE_TOOL_FAILED by default. */
  failCode?: ImageError['code'];
  /** Where stdout goes: captured (default) or a file descriptor (xz -dc > file). */
  stdoutFd?: number;
}

/** sfdisk, debugfs and friends live in /usr/sbin, which an unprivileged user's PATH often lacks. */
export function toolEnv(): NodeJS.ProcessEnv {
  const path = process.env.PATH ?? '/usr/bin:/bin';
  const extra = ['/usr/sbin', '/sbin'].filter((d) => !path.split(':').includes(d));
  return { ...process.env, PATH: [path, ...extra].join(':'), LC_ALL: 'C' };
}

/** Fixed-clock environment: E2FSPROGS_FAKE_TIME for e2fsprogs, SOURCE_DATE_EPOCH for mtools. */
export function fixedTimeEnv(epoch: number): NodeJS.ProcessEnv {
  return {
    ...toolEnv(),
    TZ: 'UTC',
    E2FSPROGS_FAKE_TIME: String(epoch),
    SOURCE_DATE_EPOCH: String(epoch),
    MTOOLS_SKIP_CHECK: '1',
  };
}

export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: opts.env ?? toolEnv(),
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', opts.stdoutFd ?? 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        const pkg = TOOL_PACKAGES[cmd] ?? cmd;
        reject(new ImageError('IMAGE_TOOL_MISSING', `${cmd} is not installed (Debian package: ${pkg})`));
      } else {
        reject(e);
      }
    });
    child.on('close', (code) => {
      const res = { code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
      if (res.code === 0 || opts.okCodes?.includes(res.code)) {
        resolve(res);
        return;
      }
      const tail = (res.stderr || res.stdout).trim().split('\n').slice(-6).join('\n');
      reject(new ImageError(opts.failCode ?? 'IMAGE_TOOL_FAILED',
        `${cmd} ${args.slice(0, 4).join(' ')} exited with ${res.code}: ${tail.split('\n')[0] ?? ''}`, tail));
    });
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => { /* the close handler reports the exit code */ });
      child.stdin.end(opts.input);
    }
  });
}

/** Fails with IMAGE_TOOL_MISSING naming the Debian packages of every missing tool, all at once. */
export async function requireTools(tools: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const t of tools) {
    const found = await run('sh', ['-c', 'command -v "$1" || true', 'sh', t]);
    if (found.stdout.trim() === '') missing.push(t);
  }
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map((t) => TOOL_PACKAGES[t] ?? t))].join(' ');
    throw new ImageError('IMAGE_TOOL_MISSING',
      `missing host tools: ${missing.join(', ')}; install with: apt-get install ${pkgs}`);
  }
}
