// Raspberry Pi OS ships images as .img.xz. xz's own index gives the decompressed size up front, so free space
// can be checked before a byte is written, and its messages tell a cut-short download from a damaged one.
import { open } from 'node:fs/promises';
import { ImageError, isImageError, mapWriteError } from './errors.ts';
import { run } from './tools.ts';

function classify(err: unknown, shownName: string): unknown {
  if (!isImageError(err, 'IMAGE_TOOL_FAILED')) return err;
  const text = `${err.message}\n${err.detail ?? ''}`;
  if (/unexpected end of input/i.test(text)) {
    return new ImageError('IMAGE_TRUNCATED', `base image ${shownName}: the xz stream ends early (incomplete download?)`, err.detail, { cause: err });
  }
  if (/no space left/i.test(text)) return new ImageError('IMAGE_NO_SPACE', `no space left while decompressing ${shownName}`, err.detail, { cause: err });
  return new ImageError('IMAGE_CORRUPT', `base image ${shownName}: xz cannot decode it: ${err.message.replace(/^.*?: /, '')}`, err.detail, { cause: err });
}

/** Decompressed size from the .xz index (`xz --robot --list`, "totals" line, 5th field). */
export async function xzSize(path: string, shownName = path): Promise<number> {
  try {
    const res = await run('xz', ['--robot', '--list', path]);
    const totals = res.stdout.split('\n').find((l) => l.startsWith('totals\t'));
    const size = Number(totals?.split('\t')[4]);
    if (!Number.isFinite(size)) throw new ImageError('IMAGE_CORRUPT', `base image ${shownName}: xz --list gave no size`);
    return size;
  } catch (err) {
    // --list reads the index at the end, so any damage there reads as "corrupt"; a full test decode tells
    // an incomplete download ("Unexpected end of input") from a damaged file.
    const test = await run('xz', ['-t', '--', path]).then(() => err, (testErr: unknown) => testErr);
    throw classify(test, shownName);
  }
}

/** `xz -dc src > dest`; `dest` must not exist. */
export async function xzDecompress(src: string, dest: string, shownName = src): Promise<void> {
  const fh = await open(dest, 'wx', 0o600);
  try {
    await run('xz', ['-dc', '--', src], { stdoutFd: fh.fd });
    await fh.sync();
  } catch (err) {
    throw classify(mapWriteError(err, dest), shownName);
  } finally {
    await fh.close();
  }
}
