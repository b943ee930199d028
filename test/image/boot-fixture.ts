// A bootable Debian arm64 system with the Raspberry Pi OS layout (docs/design-notes.md "Booting under QEMU"): MBR, p1 FAT
// 'bootfs' mounted at /boot/firmware, p2 ext4 'rootfs' (-O ^huge_file), systemd as init, plus Debian's arm64
// kernel and initrd to boot it with qemu-system-aarch64 -M virt. Built once with mmdebstrap (about 16 minutes
// under qemu-user: it runs arm64 maintainer scripts, so it needs root and binfmt_misc for arm64, which
// Debian's qemu-user-static registers) and cached: it is a fixture, not a product.

import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cachedEntry } from '../../image-build/cache.ts';
import { SBIN_PATH } from './fixture.ts';

export const BOOT_FIXTURE = 'qemu-boot-debian12-arm64-v1';
export const DISK_ID = '60d0b007';
const BOOT_MIB = 64;
const START_MIB = 8;
const PACKAGES = ['systemd-sysv', 'udev', 'kmod', 'linux-image-arm64', 'initramfs-tools', 'e2fsprogs', 'dosfstools', 'procps'];
const MIRROR = process.env.GDO_DEBIAN_MIRROR ?? 'http://deb.debian.org/debian';

export interface BootFixture { base: string; kernel: string; initrd: string; bootOffset: number; rootOffset: number }

const env = { ...process.env, PATH: SBIN_PATH, LC_ALL: 'C' };
const sh = (cmd: string, args: string[], input?: string): string =>
  execFileSync(cmd, args, { env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 64 << 20 });

/** What a machine needs to build the fixture; each missing piece named with its Debian package. */
export function bootFixtureMissing(): string[] {
  const missing: string[] = [];
  const has = (cmd: string): boolean => { try { sh('sh', ['-c', `command -v ${cmd}`]); return true; } catch { return false; } };
  if (!has('mmdebstrap')) missing.push('mmdebstrap (apt-get install mmdebstrap)');
  if (!has('arch-test')) missing.push('arch-test (apt-get install arch-test: mmdebstrap checks foreign architectures with it)');
  if (!has('qemu-system-aarch64')) missing.push('qemu-system-aarch64 (apt-get install qemu-system-arm)');
  if (!has('qemu-aarch64-static')) missing.push('qemu-aarch64-static (apt-get install qemu-user-static)');
  let binfmt = false;
  try { binfmt = /enabled/.test(sh('cat', ['/proc/sys/fs/binfmt_misc/qemu-aarch64'])); } catch { binfmt = false; }
  if (!binfmt) missing.push('binfmt_misc for arm64 (qemu-user-static registers it through systemd-binfmt; in a container run the test through test/image/arm64-binfmt-ns.sh)');
  if (process.getuid?.() !== 0) missing.push('root (mmdebstrap --mode=root and mke2fs -d need real file owners)');
  return missing;
}

function customise(tree: string): void {
  mkdirSync(join(tree, 'boot/firmware'), { recursive: true });
  writeFileSync(join(tree, 'etc/fstab'), `PARTUUID=${DISK_ID}-01 /boot/firmware vfat defaults 0 2\nPARTUUID=${DISK_ID}-02 / ext4 defaults,noatime 0 1\n`);
  writeFileSync(join(tree, 'etc/hostname'), 'raspberrypi\n');
  writeFileSync(join(tree, 'etc/hosts'), '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n\n127.0.1.1\t\traspberrypi\n');
}

async function build(dir: string): Promise<void> {
  const tree = join(dir, 'tree');
  sh('mmdebstrap', ['--mode=root', '--arch=arm64', '--variant=minbase', `--include=${PACKAGES.join(',')}`, '--quiet', 'bookworm', tree, MIRROR]);
  customise(tree);
  const bootDir = join(tree, 'boot');
  const kernel = readdirSync(bootDir).find((f) => f.startsWith('vmlinuz-'));
  const initrd = readdirSync(bootDir).find((f) => f.startsWith('initrd.img-'));
  if (!kernel || !initrd) throw new Error(`mmdebstrap left no kernel or initrd in ${bootDir}`);
  copyFileSync(join(bootDir, kernel), join(dir, 'vmlinuz'));
  copyFileSync(join(bootDir, initrd), join(dir, 'initrd.img'));

  const treeMiB = Math.ceil(Number(sh('du', ['-sm', '--apparent-size', tree]).split('\t')[0]) * 1.3) + 96;
  const rootMiB = Math.ceil(treeMiB / 4) * 4;
  const img = join(dir, 'base.img');
  writeFileSync(img, '');
  sh('truncate', ['-s', `${START_MIB + BOOT_MIB + rootMiB}M`, img]);
  sh('sfdisk', ['--no-reread', '--no-tell-kernel', '-q', img],
    `label: dos\nlabel-id: 0x${DISK_ID}\nstart=${START_MIB * 2048}, size=${BOOT_MIB * 2048}, type=c\nstart=${(START_MIB + BOOT_MIB) * 2048}, size=${rootMiB * 2048}, type=83\n`);
  const boot = join(dir, 'boot.part');
  sh('mkfs.vfat', ['-C', '-F', '32', '-n', 'bootfs', boot, String(BOOT_MIB * 1024)]);
  writeFileSync(join(dir, 'cmdline.txt'), `console=ttyAMA0 root=PARTUUID=${DISK_ID}-02 rootfstype=ext4 fsck.repair=yes rootwait\n`);
  sh('mcopy', ['-i', boot, join(dir, 'cmdline.txt'), '::/cmdline.txt']);
  const root = join(dir, 'root.part');
  sh('mke2fs', ['-q', '-F', '-t', 'ext4', '-O', '^huge_file', '-L', 'rootfs', '-d', tree, root, `${rootMiB}M`]);
  sh('dd', [`if=${boot}`, `of=${img}`, 'bs=1M', `seek=${START_MIB}`, 'conv=notrunc,sparse', 'status=none']);
  sh('dd', [`if=${root}`, `of=${img}`, 'bs=1M', `seek=${START_MIB + BOOT_MIB}`, 'conv=notrunc,sparse', 'status=none']);
  for (const f of [boot, root, join(dir, 'cmdline.txt')]) rmSync(f);
  rmSync(tree, { recursive: true, force: true });
}

export async function ensureBootFixture(cacheDir: string): Promise<BootFixture> {
  const dir = await cachedEntry(cacheDir, BOOT_FIXTURE, build);
  return {
    base: join(dir, 'base.img'), kernel: join(dir, 'vmlinuz'), initrd: join(dir, 'initrd.img'),
    bootOffset: START_MIB << 20, rootOffset: (START_MIB + BOOT_MIB) << 20,
  };
}
