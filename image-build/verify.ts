// Checks on the assembled image before it is published: the partition table as util-linux reads it must be
// the one we meant to write, the layout check must pass again, and the root filesystem inside the image
// (not just the extracted copy) must pass e2fsck -fn.
import { ImageError } from './errors.ts';
import { checkExt4 } from './ext4-edit.ts';
import { inspectBase, type BaseLayout } from './layout.ts';
import { SECTOR } from './mbr.ts';
import { run } from './tools.ts';

export interface SfdiskPartition {
  node: string;
  start: number;
  size: number;
  type: string;
}

export interface SfdiskTable {
  label: string;
  id: string;
  sectorsize?: number;
  partitions: SfdiskPartition[];
}

export async function readPartitionTable(image: string): Promise<SfdiskTable> {
  const res = await run('sfdisk', ['--json', image]);
  return (JSON.parse(res.stdout) as { partitiontable: SfdiskTable }).partitiontable;
}

export interface ExpectedTable {
  diskId: number;
  boot: { offset: number; size: number };
  root: { offset: number; size: number };
}

export async function verifyImage(image: string, expected: ExpectedTable): Promise<BaseLayout> {
  const fail = (what: string): never => { throw new ImageError('IMAGE_VERIFY', `the built image failed its check: ${what}`); };
  const table = await readPartitionTable(image);
  if (table.label !== 'dos') fail(`sfdisk reads a '${table.label}' partition table, expected 'dos'`);
  if (Number.parseInt(table.id, 16) !== expected.diskId) fail(`disk id ${table.id} differs from the base's`);
  const want = [expected.boot, expected.root];
  if (table.partitions.length !== 2) fail(`sfdisk finds ${table.partitions.length} partitions, expected 2`);
  table.partitions.forEach((p, i) => {
    const w = want[i];
    if (!w || p.start * SECTOR !== w.offset || p.size * SECTOR !== w.size) {
      fail(`partition ${i + 1} is at sector ${p.start} size ${p.size}, expected ${(w?.offset ?? 0) / SECTOR} size ${(w?.size ?? 0) / SECTOR}`);
    }
  });
  const layout = await inspectBase(image, 'built image').catch((err: unknown) => {
    throw new ImageError('IMAGE_VERIFY', `the built image failed its layout check: ${(err as Error).message}`, undefined, { cause: err });
  });
  await checkExt4(`${image}?offset=${expected.root.offset}`, 'IMAGE_VERIFY', 'the built image\'s rootfs');
  return layout;
}
