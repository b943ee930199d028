// dd-like copies in Node: partitions out of an image and a new image out of pieces. Zero chunks are
// skipped on write (the file was sized first with ftruncate), so images stay sparse on disk while their bytes,
// and the SHA-256 computed on the way, are exactly those of the full image.
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { ImageError, mapWriteError } from './errors.ts';

const CHUNK = 1 << 20;
const ZERO = Buffer.alloc(CHUNK);

export type Segment =
  | { offset: number; length: number; file: string; fileOffset: number }
  | { offset: number; length: number; bytes: Buffer };

async function readFully(fh: FileHandle, buf: Buffer, length: number, position: number, what: string): Promise<void> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, position + got);
    if (bytesRead === 0) throw new ImageError('IMAGE_TRUNCATED', `${what} ends ${length - got} bytes early at offset ${position + got}`);
    got += bytesRead;
  }
}

/** Reads `length` bytes at `position` of `path` (the MBR, a boot sector, a superblock). */
export async function readAt(path: string, position: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(length);
    await readFully(fh, buf, length, position, path);
    return buf;
  } finally {
    await fh.close();
  }
}

/**
 * Writes `size` bytes to `outPath` (created exclusively, never an existing file) from `segments`, sorted by
 * offset and not overlapping; bytes no segment covers are zero. Returns the SHA-256 of the whole file
 * (empty when `hashIt` is false: extracting a partition needs no digest).
 * The file is fsynced before this returns.
 */
export async function assemble(
  outPath: string, size: number, segments: readonly Segment[], onBytes?: (done: number, total: number) => void, hashIt = true,
): Promise<string> {
  const hash = hashIt ? createHash('sha256') : undefined;
  const buf = Buffer.alloc(CHUNK);
  let out: FileHandle | undefined;
  try {
    out = await open(outPath, 'wx', 0o644);
    await out.truncate(size);
    let pos = 0;
    const zeroTo = (end: number): void => {
      while (pos < end) {
        const n = Math.min(CHUNK, end - pos);
        hash?.update(ZERO.subarray(0, n));
        pos += n;
        onBytes?.(pos, size);
      }
    };
    for (const seg of [...segments].sort((a, b) => a.offset - b.offset)) {
      if (seg.offset < pos || seg.offset + seg.length > size) throw new Error(`segment at ${seg.offset} overlaps or overruns`);
      zeroTo(seg.offset);
      if ('bytes' in seg) {
        const data = seg.bytes.subarray(0, seg.length);
        hash?.update(data);
        await out.write(data, 0, data.length, pos);
        pos += data.length;
        continue;
      }
      const src = await open(seg.file, 'r');
      try {
        for (let done = 0; done < seg.length;) {
          const n = Math.min(CHUNK, seg.length - done);
          await readFully(src, buf, n, seg.fileOffset + done, seg.file);
          const chunk = buf.subarray(0, n);
          hash?.update(chunk);
          if (!chunk.equals(ZERO.subarray(0, n))) await out.write(chunk, 0, n, pos);
          done += n;
          pos += n;
          onBytes?.(pos, size);
        }
      } finally {
        await src.close();
      }
    }
    zeroTo(size);
    await out.sync();
    return hash?.digest('hex') ?? '';
  } catch (err) {
    throw mapWriteError(err, outPath);
  } finally {
    await out?.close();
  }
}

/** Copies `length` bytes at `offset` of `src` into a new sparse file `dest` (a partition to edit). */
export async function extract(src: string, offset: number, length: number, dest: string): Promise<void> {
  await assemble(dest, length, [{ offset: 0, length, file: src, fileOffset: offset }], undefined, false);
}

/** SHA-256 of a whole file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.alloc(CHUNK);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}
