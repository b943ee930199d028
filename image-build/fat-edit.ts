// Edits the extracted bootfs with mtools (docs/design-notes.md "Rootless injection"). mtools takes its clock from
// SOURCE_DATE_EPOCH, and `mcopy -m` keeps the (fixed) mtime we give the staged file, so directory entries
// carry the same dates on every build.
import { join } from 'node:path';
import { utimes, writeFile } from 'node:fs/promises';
import { ImageError, isImageError } from './errors.ts';
import { fixedTimeEnv, run } from './tools.ts';
import { BOOTSTRAP_ON_BOOTFS } from './payload.ts';

/** The note an installer finds in the boot partition's gdo/ folder. */
export function bootfsReadme(): string {
  return [
    'gdo node bootstrap',
    '',
    `Put this node's bootstrap file here as ${BOOTSTRAP_ON_BOOTFS.slice(1)} before the first boot`,
    '(`gdo provision` writes it when it flashes a card). On first boot gdo-firstboot.service',
    'moves it to /var/lib/gdo with mode 0600 and deletes this copy. Site-wide settings are',
    'baked into the image at /etc/gdo/site.json; nothing secret belongs in the image itself.',
    '',
  ].join('\r\n'); // a FAT partition is read on Windows too
}

export async function writeBootfs(fatImage: string, stageDir: string, epoch: number): Promise<void> {
  const env = fixedTimeEnv(epoch);
  const readme = join(stageDir, 'README.txt');
  await writeFile(readme, bootfsReadme());
  await utimes(readme, epoch, epoch);
  try {
    await run('mmd', ['-i', fatImage, '-D', 'o', '::/gdo'], { env });
    await run('mcopy', ['-i', fatImage, '-m', '-o', readme, '::/gdo/README.txt'], { env });
  } catch (err) {
    if (isImageError(err, 'IMAGE_TOOL_FAILED') && /disk full|no free cluster/i.test(`${err.message}\n${err.detail ?? ''}`)) {
      throw new ImageError('IMAGE_TOO_SMALL', 'the base image\'s bootfs partition is full: no room for gdo/README.txt', err.detail, { cause: err });
    }
    throw err;
  }
}

/** fsck.vfat -n on an extracted FAT partition (it cannot read at an offset inside an image). */
export async function checkFat(fatImage: string, failCode: ImageError['code'], what: string): Promise<void> {
  const res = await run('fsck.vfat', ['-n', fatImage], { okCodes: [1, 2] });
  if (res.code !== 0) {
    const lines = `${res.stdout}\n${res.stderr}`.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !/^fsck\.fat \d/.test(l));
    throw new ImageError(failCode, `${what}: fsck.vfat -n exited with ${res.code}: ${lines[0] ?? 'no detail'}`, lines.slice(0, 20).join('\n'));
  }
}
