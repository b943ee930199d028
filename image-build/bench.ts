// Benchmark for the runner in bench/: time to build an image from a small Pi OS-layout fixture and whether
// two builds are byte-identical. Uses the real arm64 runtime and addons from the cache (the first call on a
// cold cache also pays the download and cross-compile, which is not counted: a warm-up build runs first).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, type BuildImageOptions } from './build.ts';
import { toolEnv } from './tools.ts';

export interface BenchResult {
  suite: 'image';
  metric: string;
  value: number;
  unit: string;
}

export interface BenchOptions {
  /** Passed to buildImage: e.g. addonsDir/runtimeDir to skip the cross toolchain. */
  build?: Partial<BuildImageOptions>;
}

function sh(cmd: string, args: string[], input?: string): void {
  execFileSync(cmd, args, { env: toolEnv(), input, stdio: ['pipe', 'ignore', 'pipe'] });
}

/** A 68 MiB fixture: MBR, p1 FAT32 'bootfs' (36 MiB at 8 MiB), p2 ext4 'rootfs' (24 MiB). */
export function makeBenchBase(dir: string): string {
  const img = join(dir, 'base.img');
  writeFileSync(img, '');
  sh('truncate', ['-s', '68M', img]);
  sh('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', img], 'label: dos\nlabel-id: 0x0b0e0c0d\nstart=16384, size=73728, type=c\nstart=90112, size=49152, type=83\n');
  const boot = join(dir, 'boot.part');
  const root = join(dir, 'root.part');
  const tree = join(dir, 'tree');
  sh('mkfs.vfat', ['-C', '-F', '32', '-s', '1', '-S', '512', '-n', 'bootfs', '-i', '0b0e0c0d', '--invariant', boot, String(36 * 1024)]);
  for (const d of ['etc/systemd/system/multi-user.target.wants', 'usr/lib/systemd/system', 'opt']) mkdirSync(join(tree, d), { recursive: true });
  const uuid = '0b0e0c0d-0000-4000-8000-000000000001';
  sh('mke2fs', ['-q', '-F', '-t', 'ext4', '-O', '^huge_file', '-L', 'rootfs', '-U', uuid, '-E', `hash_seed=${uuid},root_owner=0:0`, '-d', tree, root, '24M']);
  sh('dd', [`if=${boot}`, `of=${img}`, 'bs=1M', 'seek=8', 'conv=notrunc,sparse', 'status=none']);
  sh('dd', [`if=${root}`, `of=${img}`, 'bs=1M', 'seek=44', 'conv=notrunc,sparse', 'status=none']);
  return img;
}

export async function benchImage(opts: BenchOptions = {}): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'gdo-bench-image-'));
  try {
    const base = makeBenchBase(dir);
    const bundle = join(dir, 'gdo.js');
    writeFileSync(bundle, "console.log('gdo bench bundle');\n");
    const common = { base, bundle, ...opts.build };
    await buildImage({ ...common, out: join(dir, 'warm.img') }); // fills the caches; not timed
    const t0 = process.hrtime.bigint();
    const a = await buildImage({ ...common, out: join(dir, 'a.img') });
    const buildS = Number(process.hrtime.bigint() - t0) / 1e9;
    const b = await buildImage({ ...common, out: join(dir, 'b.img') });
    return [
      { suite: 'image', metric: 'build_s', value: Math.round(buildS * 1000) / 1000, unit: 's' },
      { suite: 'image', metric: 'reproducible', value: a.sha256 === b.sha256 ? 1 : 0, unit: 'bool' },
      { suite: 'image', metric: 'image_mib', value: Math.round(a.bytes / 2 ** 20), unit: 'MiB' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
