// Files that must survive a power cut at any instant (docs/design-notes.md "SD cards": the card loses power without
// warning): written to a temp name, fsynced, renamed over the target, and the directory fsynced, so a reader
// sees the old file or the new one, never half of one. Secrets are created with their final mode from the
// first byte on (never chmod after writing).
import { closeSync, fchmodSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync, readdirSync, constants } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** fsync a directory so a rename or unlink in it is on the card. Some filesystems (vfat on older kernels)
 *  refuse fsync on a directory handle; there the data fsync before is the best there is. */
export function fsyncDir(dir: string): void {
  let fd: number;
  try { fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY); } catch { return; }
  try { fsyncSync(fd); } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EPERM') throw err;
  } finally { closeSync(fd); }
}

function writeAll(fd: number, data: Buffer): void {
  for (let off = 0; off < data.length;) off += writeSync(fd, data, off, data.length - off);
}

/** Replaces `path` with `data` atomically and durably; the file has `mode` from its creation on. */
export function writeFileDurable(path: string, data: string | Buffer, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, mode);
  try {
    // The process umask (gdo-firstboot.service runs with UMask=0077) narrows the creation mode; the file must
    // have exactly `mode` (/etc/hostname 0644), set before any byte is written.
    fchmodSync(fd, mode);
    writeAll(fd, buf);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    try { unlinkSync(tmp); } catch { /* reporting the write error matters more */ }
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  fsyncDir(dirname(path));
}

/** Overwrites a file's bytes with zeros in place (FAT rewrites the same clusters), then unlinks it durably:
 *  deleting a file on FAT only marks its clusters free, and the secrets would stay readable on the card. */
export function shredAndUnlink(path: string, size: number): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_NOFOLLOW);
  try {
    writeAll(fd, Buffer.alloc(size));
    fsyncSync(fd);
  } finally { closeSync(fd); }
  unlinkSync(path);
  fsyncDir(dirname(path));
}

/** Unlinks durably; a missing file is fine (the step already happened before a crash). */
export function unlinkDurable(path: string): void {
  try { unlinkSync(path); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  fsyncDir(dirname(path));
}

/** Removes `<name>.tmp-<pid>` leftovers of writeFileDurable for the given files (a crash mid-write). */
export function removeStaleTemps(paths: readonly string[]): void {
  const byDir = new Map<string, Set<string>>();
  for (const p of paths) {
    const names = byDir.get(dirname(p)) ?? new Set<string>();
    names.add(basename(p));
    byDir.set(dirname(p), names);
  }
  for (const [dir, names] of byDir) {
    let entries: string[];
    try { entries = readdirSync(dir); } catch { continue; }
    for (const e of entries) {
      const m = /^(.*)\.tmp-\d+$/.exec(e);
      if (m?.[1] !== undefined && names.has(m[1])) unlinkSync(join(dir, e));
    }
  }
}
