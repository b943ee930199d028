// The part of node_modules the image needs: the packages scripts/build.mjs leaves external (native addons
// and what pino loads by file name) plus their runtime dependencies, with host-arch binaries swapped for arm64
// ones. Paths keep npm's nesting so Node's resolution from /opt/gdo/gdo.js finds the same versions.
import { dirname, join, relative, sep } from 'node:path';
import { readFile, readdir, stat } from 'node:fs/promises';
import { ImageError } from './errors.ts';
import { NATIVE_ADDONS } from './addons.ts';

/** Mirrors the `external` list of scripts/build.mjs (its patterns resolve to these roots' closures). */
export const RUNTIME_ROOTS = ['better-sqlite3', 'serialport', 'onoff', 'pino'] as const;

/** Install- or build-time dependencies of the addons: never loaded at run time, so not shipped. */
const BUILD_ONLY = new Set(['prebuild-install', 'nan', 'node-addon-api', 'node-gyp']);

/** Per package, top-level entries not shipped: sources and host builds of addons we rebuild for arm64. */
const SKIP_TOP: Readonly<Record<string, readonly string[]>> = {
  'better-sqlite3': ['build', 'src', 'deps'],
  epoll: ['build', 'src'],
  '@serialport/bindings-cpp': ['build', 'src'],
};
/** serialport ships prebuilds for every platform; the image only loads linux-arm64. */
const KEEP_PREBUILDS = 'linux-arm64';

export interface ModuleFile {
  rel: string; // path under node_modules, '/'-separated
  source: string; // host path
}

interface PackageJson {
  name?: string;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/** Node's lookup: <dir>/node_modules/<name> from the requiring package up to the project root. */
async function resolvePackage(nodeModules: string, fromDir: string, name: string): Promise<string | undefined> {
  const top = dirname(nodeModules);
  for (let d = fromDir; ; d = dirname(d)) {
    const cand = join(d, 'node_modules', name);
    if (await isDir(cand)) return cand;
    if (d === top || dirname(d) === d) return undefined;
  }
}

/** Package directories of the closure, sorted by path for a stable order. */
export async function runtimeClosure(nodeModules: string, roots: readonly string[] = RUNTIME_ROOTS): Promise<string[]> {
  const seen = new Set<string>();
  const queue: string[] = [];
  for (const r of roots) {
    const dir = join(nodeModules, r);
    if (!(await isDir(dir))) throw new ImageError('IMAGE_ADDONS', `${r} is not installed in ${nodeModules}: run npm ci first`);
    queue.push(dir);
  }
  while (queue.length > 0) {
    const dir = queue.shift() as string;
    if (seen.has(dir)) continue;
    seen.add(dir);
    const pkg = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as PackageJson;
    const required = Object.keys(pkg.dependencies ?? {});
    const optional = Object.keys(pkg.optionalDependencies ?? {});
    for (const name of [...required, ...optional].sort()) {
      if (BUILD_ONLY.has(name)) continue;
      const found = await resolvePackage(nodeModules, dir, name);
      if (found) queue.push(found);
      else if (required.includes(name)) {
        throw new ImageError('IMAGE_ADDONS', `${relative(nodeModules, dir)} needs ${name}, which is not installed: run npm ci first`);
      }
    }
  }
  return [...seen].sort();
}

/** `skip` sees paths relative to the package; `out` gets them prefixed with `pkgRel`. */
async function walk(dir: string, pkgRel: string, inPkg: string, skip: (rel: string) => boolean, out: ModuleFile[]): Promise<void> {
  const names = (await readdir(dir)).sort();
  for (const name of names) {
    const source = join(dir, name);
    const rel = inPkg === '' ? name : `${inPkg}/${name}`;
    if (skip(rel)) continue;
    const st = await stat(source);
    if (st.isDirectory()) await walk(source, pkgRel, rel, skip, out);
    else if (st.isFile()) out.push({ rel: `${pkgRel}/${rel}`, source });
  }
}

/** Files to ship under /opt/gdo/node_modules (arm64 addon binaries are added separately). */
export async function runtimeModuleFiles(nodeModules: string, roots?: readonly string[]): Promise<ModuleFile[]> {
  const files: ModuleFile[] = [];
  for (const dir of await runtimeClosure(nodeModules, roots)) {
    const pkgRel = relative(nodeModules, dir).split(sep).join('/');
    const name = pkgRel.replace(/^.*node_modules\//, '');
    const skipTop = SKIP_TOP[name] ?? [];
    const skip = (rel: string): boolean => {
      const [first, second] = rel.split('/');
      if (first === 'node_modules') return true; // nested packages come in through the closure
      if (first !== undefined && skipTop.includes(first)) return true;
      return first === 'prebuilds' && second !== undefined && second !== KEEP_PREBUILDS;
    };
    await walk(dir, pkgRel, '', skip, files);
  }
  return files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

export function isNativeAddonPackage(name: string): boolean {
  return NATIVE_ADDONS.some((a) => a.name === name);
}
