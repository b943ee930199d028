// Byte-level units: MBR parsing and rewriting, FAT/ext4 probes, root sizing; cross-checked against sfdisk.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chs, hasBootSignature, parseMbr, withPartitionSize } from '../../image-build/mbr.ts';
import { probeExt4, probeFat, type Ext4Info } from '../../image-build/fs-probe.ts';
import { planRootSize } from '../../image-build/sizing.ts';
import { debugfsScript } from '../../image-build/ext4-edit.ts';
import { makeBaseImage, sfdiskJson, sh, tempDir } from './fixture.ts';

describe('MBR', () => {
  it('parses what sfdisk wrote and rewrites a partition size that sfdisk reads back', () => {
    const t = tempDir('mbr');
    try {
      const img = makeBaseImage(t.dir);
      const sector0 = readFileSync(img).subarray(0, 512);
      assert.ok(hasBootSignature(sector0));
      const mbr = parseMbr(sector0);
      assert.equal(mbr.diskId, 0x6c0ffee5);
      assert.deepEqual(mbr.partitions.map((p) => [p.index, p.type, p.startLba, p.sectors]), [[1, 0x0c, 16384, 73728], [2, 0x83, 90112, 49152]]);

      const grown = withPartitionSize(sector0, 2, 100000);
      const copy = join(t.dir, 'copy.img');
      writeFileSync(copy, Buffer.concat([grown, Buffer.alloc((90112 + 100000) * 512 - 512)]));
      const p2 = sfdiskJson(copy).partitiontable.partitions[1];
      assert.equal(p2?.start, 90112);
      assert.equal(p2?.size, 100000);
      assert.equal(grown.subarray(0, 446).compare(sector0.subarray(0, 446)), 0, 'boot code and disk id untouched');
      assert.match(sh('sfdisk', ['--verify', copy]), /No errors detected/);
    } finally {
      t.cleanup();
    }
  });

  it('computes CHS like fdisk (255 heads, 63 sectors) and saturates past cylinder 1023', () => {
    assert.deepEqual(chs(0), [0, 1, 0]);
    assert.deepEqual(chs(16065), [0, 1, 1]); // one full cylinder
    assert.deepEqual(chs(1024 * 16065), [0xfe, 0xff, 0xff]);
  });

  it('rejects a sector without 55 aa', () => {
    assert.equal(hasBootSignature(Buffer.alloc(512)), false);
    assert.equal(hasBootSignature(Buffer.alloc(100)), false);
  });
});

describe('filesystem probes', () => {
  it('reads FAT32 and ext4 labels and counts from real mkfs output', () => {
    const t = tempDir('probe');
    try {
      const fat = join(t.dir, 'f');
      sh('mkfs.vfat', ['-C', '-F', '32', '-s', '1', '-S', '512', '-n', 'bootfs', fat, String(34 * 1024)]);
      const info = probeFat(readFileSync(fat).subarray(0, 512));
      assert.deepEqual(info && [info.kind, info.label, info.bytesPerSector], ['FAT32', 'bootfs', 512]);
      const ext = join(t.dir, 'e');
      sh('mke2fs', ['-q', '-F', '-t', 'ext4', '-L', 'rootfs', '-b', '4096', ext, '16M']);
      const e = probeExt4(readFileSync(ext).subarray(1024, 2048));
      assert.equal(e?.label, 'rootfs');
      assert.equal(e?.blockSize, 4096);
      assert.equal(e?.blocks, 4096);
      assert.ok(e?.hasExtents);
      assert.equal(probeExt4(Buffer.alloc(1024)), undefined);
      assert.equal(probeFat(Buffer.alloc(512)), undefined);
    } finally {
      t.cleanup();
    }
  });
});

describe('root sizing', () => {
  const ext4: Ext4Info = {
    label: 'rootfs', blockSize: 4096, blocks: 25600, freeBlocks: 5000, reservedBlocks: 1000,
    inodes: 6400, freeInodes: 100, blocksPerGroup: 32768, inodesPerGroup: 8192, hasExtents: true,
  };
  it('leaves a roomy filesystem alone', () => {
    assert.deepEqual(planRootSize(ext4, 100 << 20, 4000 * 4096, 50), { fsBytes: 100 << 20, partitionBytes: 100 << 20, grown: false });
  });
  it('grows by the shortfall plus margin, to a 4 MiB boundary, and never shrinks the partition', () => {
    const plan = planRootSize(ext4, 100 << 20, 200 << 20, 50);
    assert.ok(plan.grown);
    assert.equal(plan.fsBytes % (4 << 20), 0);
    assert.ok(plan.fsBytes - (100 << 20) >= (200 << 20) - 4000 * 4096);
    assert.equal(plan.partitionBytes, plan.fsBytes);
  });
  it('grows by whole block groups when inodes run out', () => {
    const plan = planRootSize(ext4, 100 << 20, 0, 1000);
    assert.ok(plan.grown);
    assert.ok(plan.fsBytes >= (100 << 20) + 32768 * 4096);
  });
});

describe('debugfs script', () => {
  it('creates missing directories only, replaces existing files, and sets root ownership and modes', () => {
    const script = debugfsScript([
      { kind: 'dir', path: '/etc', mode: 0o755 },
      { kind: 'dir', path: '/etc/gdo', mode: 0o755 },
      { kind: 'file', path: '/etc/gdo/agent.json', mode: 0o644, source: '/s/agent.json', size: 10 },
      { kind: 'symlink', path: '/usr/local/bin/gdo', target: '/opt/gdo/bin/gdo' },
    ], new Set(['/etc', '/etc/gdo/agent.json']));
    assert.equal(script, [
      'mkdir "/etc/gdo"', 'sif "/etc/gdo" mode 040755', 'sif "/etc/gdo" uid 0', 'sif "/etc/gdo" gid 0',
      'rm "/etc/gdo/agent.json"', 'write "/s/agent.json" "/etc/gdo/agent.json"', 'sif "/etc/gdo/agent.json" mode 0100644',
      'sif "/etc/gdo/agent.json" uid 0', 'sif "/etc/gdo/agent.json" gid 0',
      'symlink "/usr/local/bin/gdo" "/opt/gdo/bin/gdo"', 'sif "/usr/local/bin/gdo" uid 0', 'sif "/usr/local/bin/gdo" gid 0', '',
    ].join('\n'));
  });
});
