// Edits the extracted rootfs with debugfs -w (docs/design-notes.md "Rootless injection"): no mount, no root. The clock
// is fixed with E2FSPROGS_FAKE_TIME, so inode times and superblock stamps depend only on the inputs; inode
// and block allocation follow the (sorted) command order, so the same inputs give the same bytes.
import { writeFile } from 'node:fs/promises';
import { ImageError } from './errors.ts';
import { GDO_ROOT, type Entry } from './payload.ts';
import { fixedTimeEnv, run } from './tools.ts';

const BANNER = /^debugfs \d/;
const NOT_FOUND = /^(.*): File not found by ext2_lookup/;

function quote(path: string): string {
  // debugfs splits its command lines on blanks and honours double quotes; nothing escapes a quote.
  if (/["\n\r]/.test(path)) throw new ImageError('IMAGE_TOOL_FAILED', `cannot pass path ${JSON.stringify(path)} to debugfs`);
  return `"${path}"`;
}

function errorsOf(stderr: string): string[] {
  return stderr.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !BANNER.test(l));
}

/** Which of `paths` exist in the filesystem image (one debugfs run, read-only). */
export async function existingPaths(image: string, paths: readonly string[]): Promise<Set<string>> {
  if (paths.length === 0) return new Set();
  const res = await run('debugfs', ['-f', '-', image], { input: paths.map((p) => `stat ${quote(p)}\n`).join('') });
  const missing = new Set<string>();
  for (const line of errorsOf(res.stderr)) {
    const m = NOT_FOUND.exec(line);
    if (m?.[1] !== undefined) missing.add(m[1]);
    else throw new ImageError('IMAGE_CORRUPT', `debugfs could not read the root filesystem: ${line}`);
  }
  return new Set(paths.filter((p) => !missing.has(p)));
}

/** The debugfs script: directories parents-first, then files, then symlinks, each followed by its owner
 *  and mode; existing files outside /opt/gdo are replaced, existing directories kept as they are. */
export function debugfsScript(entries: readonly Entry[], existing: ReadonlySet<string>): string {
  const lines: string[] = [];
  const own = (p: string): void => { lines.push(`sif ${quote(p)} uid 0`, `sif ${quote(p)} gid 0`); };
  for (const e of entries) {
    switch (e.kind) {
      case 'dir':
        if (existing.has(e.path)) break;
        lines.push(`mkdir ${quote(e.path)}`, `sif ${quote(e.path)} mode 0${(0o40000 | e.mode).toString(8)}`);
        own(e.path);
        break;
      case 'file':
        if (existing.has(e.path)) lines.push(`rm ${quote(e.path)}`);
        lines.push(`write ${quote(e.source)} ${quote(e.path)}`, `sif ${quote(e.path)} mode 0${(0o100000 | e.mode).toString(8)}`);
        own(e.path);
        break;
      case 'symlink':
        if (existing.has(e.path)) lines.push(`rm ${quote(e.path)}`);
        lines.push(`symlink ${quote(e.path)} ${quote(e.target)}`);
        own(e.path);
        break;
    }
  }
  return `${lines.join('\n')}\n`;
}

/** Paths to probe before writing: every directory and file outside /opt/gdo, and /opt/gdo itself. */
export function pathsToProbe(entries: readonly Entry[]): string[] {
  return entries.map((e) => e.path).filter((p) => p === GDO_ROOT || !p.startsWith(`${GDO_ROOT}/`));
}

export async function writeEntries(image: string, entries: readonly Entry[], epoch: number, scriptPath: string): Promise<void> {
  const existing = await existingPaths(image, pathsToProbe(entries));
  if (existing.has(GDO_ROOT)) {
    throw new ImageError('IMAGE_LAYOUT', `the base image already contains ${GDO_ROOT}; start from a clean Raspberry Pi OS image`);
  }
  await writeFile(scriptPath, debugfsScript(entries, existing));
  const res = await run('debugfs', ['-w', '-f', scriptPath, image], { env: fixedTimeEnv(epoch) });
  // debugfs exits 0 even when a command fails; its complaints on stderr are the only signal.
  const errors = errorsOf(res.stderr);
  if (errors.length > 0) {
    throw new ImageError('IMAGE_TOOL_FAILED', `debugfs could not write the root filesystem: ${errors[0] ?? ''}`, errors.slice(0, 20).join('\n'));
  }
}

/** Grows the extracted filesystem to `bytes` (the file must already be that long). */
export async function resizeExt4(image: string, bytes: number, epoch: number): Promise<void> {
  // -f: e2fsck -fn has just passed on this very file, but read-only checks leave no "checked" stamp.
  await run('resize2fs', ['-f', image, `${Math.floor(bytes / 1024)}K`], { env: fixedTimeEnv(epoch) });
}

/** e2fsck -fn (read-only, forced); `spec` may be `IMAGE?offset=N`. */
export async function checkExt4(spec: string, failCode: ImageError['code'], what: string): Promise<void> {
  const res = await run('e2fsck', ['-fn', spec], { okCodes: [1, 2, 4, 8, 12, 16, 32, 128] });
  if (res.code !== 0) {
    const lines = `${res.stdout}\n${res.stderr}`.split('\n').map((l) => l.trim())
      .filter((l) => l !== '' && !/^(Pass \d|e2fsck \d)/.test(l));
    throw new ImageError(failCode, `${what}: e2fsck -fn exited with ${res.code}: ${lines[0] ?? 'no detail'}`, lines.slice(0, 20).join('\n'));
  }
}
