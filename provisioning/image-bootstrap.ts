// Puts one node's bootstrap onto the boot partition of a built gdo image, without root (docs/design-notes.md "Rootless
// injection": mtools addresses the FAT partition inside the image file with -i IMAGE@@OFFSET). The file is
// copied under a temp name and then renamed over gdo/bootstrap.json, so an interrupted run leaves either the
// old bootstrap or the new one, and it is read back before the image is reported ready.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isImageError } from '../image-build/errors.ts';
import { inspectBase } from '../image-build/layout.ts';
import { run, toolEnv, requireTools } from '../image-build/tools.ts';
import { BOOTSTRAP_ON_BOOTFS } from '../image-build/payload.ts';
import { EnrolError } from '../agent/enrol/errors.ts';

const GDO_DIR = BOOTSTRAP_ON_BOOTFS.slice(0, BOOTSTRAP_ON_BOOTFS.lastIndexOf('/')); // '/gdo'
const mtoolsEnv = (): NodeJS.ProcessEnv => ({ ...toolEnv(), MTOOLS_SKIP_CHECK: '1' });

export interface GdoImage { image: string; bootOffset: number }

function fail(message: string, cause?: unknown): never {
  throw new EnrolError('ENROL_PROVISION', message, { cause });
}

/** Checks that `image` is a gdo image (Pi OS layout with gdo's folder on bootfs) and finds its FAT partition. */
export async function openGdoImage(image: string): Promise<GdoImage> {
  await requireTools(['mcopy', 'mtype', 'mmove', 'mdir']).catch((err: unknown) => fail((err as Error).message, err));
  const layout = await inspectBase(image, image).catch((err: unknown) => {
    if (isImageError(err)) fail(`${err.message}${err.code === 'IMAGE_MISSING' ? '' : ' (gdo provision --image needs an image from gdo image build)'}`, err);
    throw err;
  });
  const spec = `${image}@@${layout.boot.offset}`;
  const listing = await run('mdir', ['-b', '-i', spec, `::${GDO_DIR}`], { env: mtoolsEnv(), okCodes: [1] });
  if (listing.code !== 0 || !/README\.txt/i.test(listing.stdout)) {
    fail(`${image} is a Raspberry Pi OS image but not a gdo image (no ${GDO_DIR.slice(1)}/README.txt on its boot partition): build one with gdo image build`);
  }
  return { image, bootOffset: layout.boot.offset };
}

/** The bootstrap on the image's boot partition, or undefined when there is none. */
export async function readImageBootstrap(img: GdoImage): Promise<Buffer | undefined> {
  const res = await run('mtype', ['-i', `${img.image}@@${img.bootOffset}`, `::${BOOTSTRAP_ON_BOOTFS}`], { env: mtoolsEnv(), okCodes: [1] });
  if (res.code !== 0) {
    if (/not found/i.test(res.stderr)) return undefined;
    fail(`cannot read ${BOOTSTRAP_ON_BOOTFS.slice(1)} from ${img.image}: ${res.stderr.trim()}`);
  }
  // mtype -r would be binary-safe, but the bootstrap is JSON text written by us; compare as bytes anyway.
  return Buffer.from(res.stdout, 'utf8');
}

export async function writeImageBootstrap(img: GdoImage, bytes: Buffer): Promise<void> {
  // The staged copy holds the broker password and the token: a private directory, mode 0600, removed after.
  const dir = await mkdtemp(join(tmpdir(), 'gdo-provision-'));
  try {
    const staged = join(dir, 'bootstrap.json');
    await writeFile(staged, bytes, { mode: 0o600 });
    const spec = `${img.image}@@${img.bootOffset}`;
    const temp = `::${GDO_DIR}/bootstrap.new`;
    try {
      await run('mcopy', ['-i', spec, '-D', 'o', staged, temp], { env: mtoolsEnv() });
      await run('mmove', ['-i', spec, '-D', 'o', temp, `::${BOOTSTRAP_ON_BOOTFS}`], { env: mtoolsEnv() });
    } catch (err) {
      if (isImageError(err)) {
        const full = /disk full|no free cluster/i.test(`${err.message}\n${err.detail ?? ''}`);
        fail(full ? `the boot partition of ${img.image} is full: no room for the bootstrap` : `writing the bootstrap into ${img.image} failed: ${err.message}`, err);
      }
      throw err;
    }
    const back = await readImageBootstrap(img);
    if (!back?.equals(bytes)) fail(`the bootstrap read back from ${img.image} differs from what was written; the image may be damaged`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
