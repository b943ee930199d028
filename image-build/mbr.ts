// Classic MBR (the layout pi-gen writes, see docs/design-notes.md "Raspberry Pi OS image layout"):
//   bytes 440-443  disk identifier (little-endian; PARTUUID = id + "-01"/"-02")
//   bytes 446-509  four 16-byte partition entries
//   bytes 510-511  boot signature 0x55 0xAA
// Partition entry: 0 status, 1-3 CHS first, 4 type, 5-7 CHS last, 8-11 LBA start, 12-15 sector count.

export const SECTOR = 512;
const TABLE_OFFSET = 446;
const ENTRY_SIZE = 16;

export interface MbrPartition {
  index: number; // 1-based, as in PARTUUID and sfdisk
  bootable: boolean;
  type: number;
  startLba: number;
  sectors: number;
}

export interface Mbr {
  diskId: number;
  partitions: MbrPartition[]; // only non-empty entries, in table order
}

export function hasBootSignature(sector0: Buffer): boolean {
  return sector0.length >= SECTOR && sector0[510] === 0x55 && sector0[511] === 0xaa;
}

export function parseMbr(sector0: Buffer): Mbr {
  const partitions: MbrPartition[] = [];
  for (let i = 0; i < 4; i++) {
    const at = TABLE_OFFSET + i * ENTRY_SIZE;
    const type = sector0[at + 4] ?? 0;
    const startLba = sector0.readUInt32LE(at + 8);
    const sectors = sector0.readUInt32LE(at + 12);
    if (type === 0 && sectors === 0) continue;
    partitions.push({ index: i + 1, bootable: sector0[at] === 0x80, type, startLba, sectors });
  }
  return { diskId: sector0.readUInt32LE(440), partitions };
}

/** Cylinder/head/sector triple for an LBA with the 255-head, 63-sector geometry fdisk assumes;
 *  LBAs past cylinder 1023 get the conventional 1023/254/63 marker (fe ff ff). */
export function chs(lba: number): [number, number, number] {
  const cyl = Math.floor(lba / (255 * 63));
  if (cyl > 1023) return [0xfe, 0xff, 0xff];
  const head = Math.floor(lba / 63) % 255;
  const sec = (lba % 63) + 1;
  return [head, (sec & 0x3f) | ((cyl >> 2) & 0xc0), cyl & 0xff];
}

/** A copy of sector 0 with one partition's size changed (start and type stay), CHS end refreshed. */
export function withPartitionSize(sector0: Buffer, index: number, sectors: number): Buffer {
  const out = Buffer.from(sector0);
  const at = TABLE_OFFSET + (index - 1) * ENTRY_SIZE;
  const start = out.readUInt32LE(at + 8);
  out.writeUInt32LE(sectors, at + 12);
  const [h, s, c] = chs(start + sectors - 1);
  out[at + 5] = h;
  out[at + 6] = s;
  out[at + 7] = c;
  return out;
}

export function formatDiskId(diskId: number): string {
  return diskId.toString(16).padStart(8, '0');
}

export function partitionTypeName(type: number): string {
  switch (type) {
    case 0x01: return 'FAT12';
    case 0x04: case 0x06: case 0x0e: return 'FAT16';
    case 0x0b: case 0x0c: return 'FAT32';
    case 0x05: case 0x0f: return 'extended';
    case 0x07: return 'NTFS/exFAT';
    case 0x82: return 'Linux swap';
    case 0x83: return 'Linux';
    case 0xee: return 'GPT protective';
    default: return `type 0x${type.toString(16).padStart(2, '0')}`;
  }
}

export function isFatType(type: number): boolean {
  return [0x01, 0x04, 0x06, 0x0b, 0x0c, 0x0e].includes(type);
}
