// How big the root partition must become. Pi OS images ship a rootfs with little free space (first boot's
// `resize` grows it to the card), so the ~150 MB gdo adds usually means growing p2 in the image: truncate,
// move the partition end, resize2fs (docs/design-notes.md "Rootless injection").
import type { Ext4Info } from './fs-probe.ts';

const ALIGN = 4 << 20; // partition ends on 4 MiB boundaries, like pi-gen's

export interface RootSizing {
  /** New filesystem size in bytes; equal to the current one when nothing needs to grow. */
  fsBytes: number;
  /** New partition size in bytes (>= the base's). */
  partitionBytes: number;
  grown: boolean;
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/**
 * @param needBytes   space the payload takes (payloadBytes), plus headroom left free for the device
 * @param needInodes  inodes the payload takes
 */
export function planRootSize(ext4: Ext4Info, partitionBytes: number, needBytes: number, needInodes: number): RootSizing {
  const fsBytes = ext4.blocks * ext4.blockSize;
  // Reserved blocks stay free: they are root's emergency space on the device.
  const usable = Math.max(0, ext4.freeBlocks - ext4.reservedBlocks) * ext4.blockSize;
  let extra = needBytes > usable ? needBytes - usable : 0;
  if (ext4.freeInodes < needInodes) {
    // Inodes come per block group: add enough whole groups.
    const groups = Math.ceil((needInodes - ext4.freeInodes) / ext4.inodesPerGroup);
    extra = Math.max(extra, groups * ext4.blocksPerGroup * ext4.blockSize);
  }
  if (extra === 0) return { fsBytes, partitionBytes, grown: false };
  // Growing also grows the reserve (resize2fs keeps its percentage): 10 % margin covers it and the new
  // group descriptors and bitmaps.
  const newFs = roundUp(fsBytes + Math.ceil(extra * 1.1), ALIGN);
  return { fsBytes: newFs, partitionBytes: Math.max(partitionBytes, newFs), grown: true };
}
