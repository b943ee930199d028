// Reads just enough of a FAT boot sector and an ext4 superblock to check the base image's layout
// before any tool touches it. Offsets: Microsoft "FAT: General Overview of On-Disk Format" (BPB) and
// the kernel's Documentation/filesystems/ext4/super.rst.

export interface FatInfo {
  kind: 'FAT12/16' | 'FAT32';
  label: string;
  bytesPerSector: number;
  totalSectors: number;
}

export interface Ext4Info {
  label: string;
  blockSize: number;
  blocks: number;
  freeBlocks: number;
  reservedBlocks: number;
  inodes: number;
  freeInodes: number;
  blocksPerGroup: number;
  inodesPerGroup: number;
  hasExtents: boolean;
}

function text(buf: Buffer, start: number, len: number): string {
  return buf.subarray(start, start + len).toString('latin1').replace(/\0.*$/s, '').trimEnd();
}

/** `bootSector` is the partition's first 512 bytes. Returns undefined when it is no FAT boot sector. */
export function probeFat(bootSector: Buffer): FatInfo | undefined {
  if (bootSector.length < 512 || bootSector[510] !== 0x55 || bootSector[511] !== 0xaa) return undefined;
  const bytesPerSector = bootSector.readUInt16LE(11);
  const sectorsPerCluster = bootSector[13] ?? 0;
  const fats = bootSector[16] ?? 0;
  if (![512, 1024, 2048, 4096].includes(bytesPerSector) || sectorsPerCluster === 0 || fats === 0) return undefined;
  const total16 = bootSector.readUInt16LE(19);
  const totalSectors = total16 !== 0 ? total16 : bootSector.readUInt32LE(32);
  // FAT32 is the one whose 16-bit FAT size is zero; its extended BPB sits 28 bytes later.
  if (bootSector.readUInt16LE(22) === 0) {
    return { kind: 'FAT32', label: text(bootSector, 71, 11), bytesPerSector, totalSectors };
  }
  return { kind: 'FAT12/16', label: text(bootSector, 43, 11), bytesPerSector, totalSectors };
}

export const EXT4_SUPERBLOCK_OFFSET = 1024;
const EXT_MAGIC = 0xef53;
const INCOMPAT_EXTENTS = 0x40;
const INCOMPAT_64BIT = 0x80;

/** `sb` is the 1024-byte superblock (partition bytes 1024-2047). Undefined when the magic is wrong. */
export function probeExt4(sb: Buffer): Ext4Info | undefined {
  if (sb.length < 1024 || sb.readUInt16LE(56) !== EXT_MAGIC) return undefined;
  const incompat = sb.readUInt32LE(96);
  const is64 = (incompat & INCOMPAT_64BIT) !== 0;
  const lohi = (lo: number, hi: number): number => sb.readUInt32LE(lo) + (is64 ? sb.readUInt32LE(hi) * 2 ** 32 : 0);
  return {
    label: text(sb, 120, 16),
    blockSize: 1024 * 2 ** sb.readUInt32LE(24),
    blocks: lohi(4, 0x150),
    reservedBlocks: lohi(8, 0x154),
    freeBlocks: lohi(12, 0x158),
    inodes: sb.readUInt32LE(0),
    freeInodes: sb.readUInt32LE(16),
    blocksPerGroup: sb.readUInt32LE(32),
    inodesPerGroup: sb.readUInt32LE(40),
    hasExtents: (incompat & INCOMPAT_EXTENTS) !== 0,
  };
}
