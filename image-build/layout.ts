// Checks that a base image has the Raspberry Pi OS layout (docs/design-notes.md: MBR, p1 FAT32 'bootfs', p2 ext4
// 'rootfs') and says exactly what it found when it does not.
import { stat } from 'node:fs/promises';
import { ImageError } from './errors.ts';
import { readAt } from './blockcopy.ts';
import { probeExt4, probeFat, EXT4_SUPERBLOCK_OFFSET, type Ext4Info, type FatInfo } from './fs-probe.ts';
import { SECTOR, hasBootSignature, isFatType, parseMbr, partitionTypeName, type MbrPartition } from './mbr.ts';

export interface PartitionExtent {
  index: number;
  offset: number; // bytes
  size: number; // bytes
}

export interface BaseLayout {
  fileSize: number;
  sector0: Buffer;
  diskId: number;
  boot: PartitionExtent & { fat: FatInfo };
  root: PartitionExtent & { ext4: Ext4Info };
}

function extentOf(p: MbrPartition): PartitionExtent {
  return { index: p.index, offset: p.startLba * SECTOR, size: p.sectors * SECTOR };
}

function describe(parts: readonly MbrPartition[]): string {
  if (parts.length === 0) return 'no partitions';
  return parts.map((p) => `p${p.index} ${partitionTypeName(p.type)} at sector ${p.startLba} (${p.sectors} sectors)`).join(', ');
}

export async function inspectBase(path: string, shownName = path): Promise<BaseLayout> {
  const st = await stat(path).catch(() => undefined);
  if (!st) throw new ImageError('IMAGE_MISSING', `base image ${shownName} does not exist`);
  if (!st.isFile()) throw new ImageError('IMAGE_MISSING', `base image ${shownName} is not a regular file`);
  if (st.size < SECTOR) {
    throw new ImageError('IMAGE_TOO_SMALL', `base image ${shownName} is ${st.size} bytes; an image needs at least a 512-byte MBR and two partitions`);
  }
  const sector0 = await readAt(path, 0, SECTOR);
  if (!hasBootSignature(sector0)) {
    throw new ImageError('IMAGE_LAYOUT', `base image ${shownName} has no MBR: bytes 510-511 are not 55 aa`);
  }
  const mbr = parseMbr(sector0);
  const found = describe(mbr.partitions);
  if (mbr.partitions.some((p) => p.type === 0xee)) {
    throw new ImageError('IMAGE_LAYOUT', `base image ${shownName} is GPT-partitioned; expected an MBR with p1 FAT 'bootfs' and p2 ext4 'rootfs'`);
  }
  const [p1, p2, ...rest] = mbr.partitions;
  if (!p1 || !p2 || rest.length > 0 || p1.index !== 1 || p2.index !== 2) {
    throw new ImageError('IMAGE_LAYOUT', `base image ${shownName} has ${found}; expected exactly p1 FAT 'bootfs' and p2 ext4 'rootfs'`);
  }
  if (!isFatType(p1.type) || p2.type !== 0x83) {
    throw new ImageError('IMAGE_LAYOUT', `base image ${shownName} has ${found}; expected p1 FAT (0x0c) and p2 Linux (0x83)`);
  }
  const boot = extentOf(p1);
  const root = extentOf(p2);
  if (boot.offset + boot.size > root.offset) {
    throw new ImageError('IMAGE_LAYOUT', `base image ${shownName}: p1 ends after p2 starts (${found})`);
  }
  const end = root.offset + root.size;
  if (end > st.size) {
    throw new ImageError('IMAGE_TRUNCATED', `base image ${shownName} is ${st.size} bytes but its partition table ends at byte ${end}: the file is cut short`);
  }
  const fat = probeFat(await readAt(path, boot.offset, SECTOR));
  if (!fat) throw new ImageError('IMAGE_CORRUPT', `base image ${shownName}: p1 is typed ${partitionTypeName(p1.type)} but holds no FAT boot sector`);
  if (fat.label !== 'bootfs') {
    throw new ImageError('IMAGE_LAYOUT', `base image ${shownName}: p1 is ${fat.kind} labelled '${fat.label}', expected label 'bootfs'`);
  }
  const ext4 = probeExt4(await readAt(path, root.offset + EXT4_SUPERBLOCK_OFFSET, 1024));
  if (!ext4) throw new ImageError('IMAGE_CORRUPT', `base image ${shownName}: p2 is typed Linux but has no ext2/3/4 superblock`);
  if (!ext4.hasExtents) {
    throw new ImageError('IMAGE_LAYOUT', `base image ${shownName}: p2 is ext2/ext3 (no extents), expected ext4 'rootfs'`);
  }
  if (ext4.label !== 'rootfs') {
    throw new ImageError('IMAGE_LAYOUT', `base image ${shownName}: p2 is ext4 labelled '${ext4.label}', expected label 'rootfs'`);
  }
  if (ext4.blocks * ext4.blockSize > root.size) {
    throw new ImageError('IMAGE_CORRUPT', `base image ${shownName}: p2's ext4 claims ${ext4.blocks * ext4.blockSize} bytes but the partition has ${root.size}`);
  }
  return { fileSize: st.size, sector0, diskId: mbr.diskId, boot: { ...boot, fat }, root: { ...root, ext4 } };
}
