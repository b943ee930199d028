// Opt-in (GDO_QEMU_BOOT=1): the whole installer path on an emulated arm64 machine. A gdo image is built from
// a bootable Debian arm64 fixture with the Raspberry Pi OS layout (boot-fixture.ts) with the real runtime,
// addons and bundle, provisioned for one door node, and booted under qemu-system-aarch64 -M virt with Debian's
// arm64 kernel (docs/design-notes.md "Booting under QEMU"): gdo-firstboot must succeed and gdo-agent reach ready (active
// under Type=notify means it sent READY=1). Then the admin approves the request the node printed, and the
// site secret sealed in org/node.add opens with the X25519 key the node made, read back from the image.
//
// Needs root, mmdebstrap and arch-test, qemu-user-static with binfmt_misc for arm64, qemu-system-arm, the aarch64 cross
// toolchain and the network to Debian's archive the first time (the fixture is cached in GDO_CACHE_DIR). In a
// container without systemd to register binfmt, run it through test/image/arm64-binfmt-ns.sh.
// The fixture takes 20-40 minutes to build once (mmdebstrap under qemu-user); with it cached the test takes
// about a minute (the guest reaches gdo-agent ready about 45 s after power-on on 2 emulated cores).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { approveEnrolment } from '../../agent/enrol/approve.ts';
import { parseEnrolmentRequest } from '../../agent/enrol/request.ts';
import { readSiteSecret } from '../../agent/enrol/site-secret.ts';
import { nodeSiteSecret } from '../../agent/enrol/status.ts';
import { buildImage, defaultCacheDir } from '../../image-build/index.ts';
import { provisionNode } from '../../provisioning/provision.ts';
import { foundOrg, type Org } from '../enrol/helpers.ts';
import { bootFixtureMissing, DISK_ID, ensureBootFixture, type BootFixture } from './boot-fixture.ts';
import { buildRealBundle, ext4Cat, sh, tempDir } from './fixture.ts';

const OPT_IN = process.env.GDO_QEMU_BOOT === '1';

/** Test-only: once gdo-agent has started, what the test checks goes to the serial console, then power off. */
const REPORT_SCRIPT = `#!/bin/sh
exec > /dev/console 2>&1
i=0
while [ $i -lt 120 ]; do
  [ "$(systemctl show -p ActiveState --value gdo-agent.service)" = active ] && break
  i=$((i + 1)); sleep 1
done
echo GDO-REPORT-BEGIN
echo "GDO-REPORT firstboot=$(systemctl show -p ActiveState --value gdo-firstboot.service)/$(systemctl show -p Result --value gdo-firstboot.service)"
echo "GDO-REPORT agent=$(systemctl show -p ActiveState --value gdo-agent.service)/$(systemctl show -p SubState --value gdo-agent.service)/$(systemctl show -p NRestarts --value gdo-agent.service)"
echo "GDO-REPORT fat-bootstrap=$(test -e /boot/firmware/gdo/bootstrap.json && echo present || echo gone)"
echo "GDO-REPORT pending=$(test -e /var/lib/gdo/firstboot.pending && echo present || echo gone)"
echo "GDO-REPORT modes=$(stat -c '%a:%U:%n' /var/lib/gdo /var/lib/gdo/node.key /var/lib/gdo/node-kx.key /var/lib/gdo/bootstrap.json /var/lib/gdo/enrol-request.json | tr '\\n' ' ')"
echo "GDO-REPORT hostname=$(hostname)"
echo "GDO-REPORT request=$(base64 -w0 /var/lib/gdo/enrol-request.json)"
echo "GDO-REPORT status=$(/opt/gdo/bin/gdo status --json | base64 -w0)"
journalctl -b -u gdo-firstboot.service --no-pager -o cat | tail -n 30 | sed 's/^/GDO-JOURNAL firstboot: /'
journalctl -b -u gdo-agent.service --no-pager -o cat | tail -n 40 | sed 's/^/GDO-JOURNAL agent: /'
echo GDO-REPORT-END
sync
systemctl poweroff
`;

const REPORT_UNIT = `[Unit]
Description=gdo boot test report (test only)
After=gdo-firstboot.service gdo-agent.service

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/gdo-boot-report

[Install]
WantedBy=multi-user.target
`;

/** Adds the report unit to the built image's rootfs, rootless like the builder (debugfs -w at an offset). */
function addReportUnit(image: string, rootOffset: number, dir: string): void {
  writeFileSync(join(dir, 'report.sh'), REPORT_SCRIPT);
  writeFileSync(join(dir, 'report.service'), REPORT_UNIT);
  const unit = '/etc/systemd/system/gdo-boot-report.service';
  const cmds = [
    'rm /usr/local/sbin/gdo-boot-report', `rm ${unit}`, 'rm /etc/systemd/system/multi-user.target.wants/gdo-boot-report.service',
    `write ${join(dir, 'report.sh')} /usr/local/sbin/gdo-boot-report`, 'sif /usr/local/sbin/gdo-boot-report mode 0100755',
    `write ${join(dir, 'report.service')} ${unit}`, `sif ${unit} mode 0100644`,
    `symlink /etc/systemd/system/multi-user.target.wants/gdo-boot-report.service ${unit}`,
  ];
  writeFileSync(join(dir, 'report.debugfs'), `${cmds.join('\n')}\n`);
  sh('debugfs', ['-w', '-f', join(dir, 'report.debugfs'), `${image}?offset=${rootOffset}`]);
  sh('e2fsck', ['-fn', `${image}?offset=${rootOffset}`]);
}
const BOOT_TIMEOUT_MS = Number(process.env.GDO_QEMU_BOOT_TIMEOUT_S ?? 900) * 1000;

/** Boots the image and returns everything the serial console printed; qemu exits when the guest powers off. */
function boot(fx: BootFixture, image: string, consoleLog: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const q = spawn('qemu-system-aarch64', [
      '-M', 'virt', '-cpu', 'cortex-a72', '-smp', '2', '-m', '1024',
      '-kernel', fx.kernel, '-initrd', fx.initrd,
      '-append', `root=PARTUUID=${DISK_ID}-02 rootfstype=ext4 rootwait console=ttyAMA0 panic=-1`,
      '-drive', `if=none,file=${image},format=raw,id=hd0`, '-device', 'virtio-blk-pci,drive=hd0',
      '-nic', 'none', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    q.stdout.on('data', (b: Buffer) => { out += b.toString('utf8'); });
    q.stderr.on('data', (b: Buffer) => { out += b.toString('utf8'); });
    const timer = setTimeout(() => { q.kill('SIGKILL'); }, BOOT_TIMEOUT_MS);
    q.on('error', (err) => { clearTimeout(timer); reject(err); });
    q.on('close', () => {
      clearTimeout(timer);
      writeFileSync(consoleLog, out);
      resolve(out.replace(/\r/g, ''));
    });
  });
}

describe('a provisioned gdo image boots under qemu-system-aarch64', { skip: OPT_IN ? false : 'opt-in: GDO_QEMU_BOOT=1 (20-40 minutes with a cold fixture cache, about a minute warm; see the file header)', timeout: 60 * 60_000 }, () => {
  const t = tempDir('boot');
  let org: Org;
  let fx: BootFixture;
  let image = '';
  let serial = '';
  const report = new Map<string, string>();

  before(async () => {
    const missing = bootFixtureMissing();
    assert.deepEqual(missing, [], `this machine cannot run the boot test: ${missing.join('; ')}`);
    fx = await ensureBootFixture(defaultCacheDir());
    // -M virt has no Raspberry Pi GPIO chip (docs/design-notes.md "Booting under QEMU"): the agent and `gdo gpio safe` use
    // the fake backend here; everything else is the image as an installer gets it.
    const built = await buildImage({
      base: fx.base, out: join(t.dir, 'gdo.img'), bundle: buildRealBundle(t.dir),
      agentConfig: { state_dir: '/var/lib/gdo', log: { level: 'info' }, gpio: { backend: 'fake' } },
    });
    addReportUnit(built.out, fx.rootOffset, t.dir);
    mkdirSync(join(t.dir, 'admin'));
    org = foundOrg(join(t.dir, 'admin'));
    image = built.out;
    await provisionNode({ ledger: org.ledger, dataDir: join(t.dir, 'admin'), name: 'front-door', roles: ['door'], image });
    serial = await boot(fx, image, join(t.dir, 'console.log'));
    for (const line of serial.split('\n')) {
      const m = /GDO-REPORT (\w[\w-]*)=(.*)$/.exec(line);
      if (m?.[1] !== undefined) report.set(m[1], (m[2] ?? '').trim());
    }
  });
  after(() => { org?.ledger.close(); if (process.env.GDO_QEMU_BOOT_KEEP !== '1') t.cleanup(); });

  const journal = (): string => serial.split('\n').filter((l) => l.includes('GDO-JOURNAL') || /Failed|panic/i.test(l)).slice(-80).join('\n');

  it('runs gdo-firstboot to success and gdo-agent to ready', () => {
    assert.ok(serial.includes('GDO-REPORT-END'), `the guest never reported (console tail):\n${serial.split('\n').slice(-60).join('\n')}`);
    assert.equal(report.get('firstboot'), 'active/success', journal());
    assert.match(report.get('agent') ?? '', /^active\/running\/0$/, journal());
  });

  it('stays inert until approved: the agent reports the node not enrolled', () => {
    const status = JSON.parse(Buffer.from(report.get('status') ?? '', 'base64').toString('utf8') || '{}') as { enrolment?: { enrolled: boolean; reason?: string } };
    assert.equal(status.enrolment?.enrolled, false, JSON.stringify(status));
    assert.equal(status.enrolment?.reason, 'node not enrolled');
  });

  it('moved the bootstrap off the FAT partition, made 0600 keys and renamed the host', () => {
    assert.equal(report.get('fat-bootstrap'), 'gone');
    assert.equal(report.get('pending'), 'gone');
    assert.deepEqual((report.get('modes') ?? '').split(' ').filter((x) => x !== ''), [
      '700:root:/var/lib/gdo', '600:root:/var/lib/gdo/node.key', '600:root:/var/lib/gdo/node-kx.key',
      '600:root:/var/lib/gdo/bootstrap.json', '600:root:/var/lib/gdo/enrol-request.json',
    ]);
    assert.equal(report.get('hostname'), 'front-door');
    assert.doesNotMatch(sh('mdir', ['-b', '-i', `${image}@@${fx.bootOffset}`, '::/gdo']), /bootstrap\.json/);
  });

  it('asked to enrol with a request the admin can approve; the sealed secret opens with the node\'s key', () => {
    const req = parseEnrolmentRequest(Buffer.from(report.get('request') ?? '', 'base64'), 'the node\'s request');
    const r = approveEnrolment({ ledger: org.ledger, dataDir: join(t.dir, 'admin'), name: 'front-door', request: req, signer: org.admin });
    const kx = JSON.parse(ext4Cat(image, fx.rootOffset, '/var/lib/gdo/node-kx.key')) as { privateKey: string };
    assert.deepEqual(nodeSiteSecret(org.ledger, r.key, Buffer.from(kx.privateKey, 'hex')), readSiteSecret(join(t.dir, 'admin')));
  });
});
