// The build cache (~/.cache/gdo, or GDO_CACHE_DIR): the arm64 Node runtime and the cross-compiled addons,
// each in a directory named by the versions it depends on, so a version bump is a cache miss by construction.
// Entries are made in a private temp directory and renamed into place: two builds running at once (tests
// run two files in parallel) either win the rename or throw their copy away; neither sees half an entry.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { mkdir, mkdtemp, rename, rm, stat, writeFile } from 'node:fs/promises';

export function defaultCacheDir(): string {
  if (process.env.GDO_CACHE_DIR) return process.env.GDO_CACHE_DIR;
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg && xdg !== '' ? xdg : join(homedir(), '.cache'), 'gdo');
}

async function exists(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined)) !== undefined;
}

/**
 * Returns `cacheDir/name`, creating it with `fill(tempDir)` when absent. `fill` must leave a complete
 * entry in the directory it is given; the entry appears atomically.
 */
export async function cachedEntry(cacheDir: string, name: string, fill: (dir: string) => Promise<void>): Promise<string> {
  const final = join(cacheDir, name);
  if (await exists(join(final, '.complete'))) return final;
  await mkdir(cacheDir, { recursive: true });
  const tmp = await mkdtemp(join(cacheDir, `.${name}.tmp-`));
  try {
    await fill(tmp);
    await writeFile(join(tmp, '.complete'), `${name}\n`);
    try {
      await rename(tmp, final);
    } catch (err) {
      // Another build finished first (EEXIST/ENOTEMPTY) or left a broken entry behind: keep a complete one.
      if (await exists(join(final, '.complete'))) return final;
      await rm(final, { recursive: true, force: true });
      await rename(tmp, final).catch(() => { throw err; });
    }
    return final;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
