// What gdo adds to the root filesystem, as a sorted list of entries with owners and modes, independent of
// how it gets written (ext4-edit.ts). Generated files are staged in the work directory first.
import { dirname, join } from 'node:path';
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { NATIVE_ADDONS } from './addons.ts';
import type { ModuleFile } from './node-modules.ts';

export const GDO_ROOT = '/opt/gdo';
export const UNIT_DIR = '/usr/lib/systemd/system';
export const WANTS_DIR = '/etc/systemd/system/multi-user.target.wants';
export const UNITS = ['gdo-agent.service', 'gdo-firstboot.service'] as const;
/** Where the installer puts a node's bootstrap at flash time; gdo-firstboot.service's condition. */
export const BOOTSTRAP_ON_BOOTFS = '/gdo/bootstrap.json';

export type Entry =
  | { kind: 'dir'; path: string; mode: number }
  | { kind: 'file'; path: string; mode: number; source: string; size: number }
  | { kind: 'symlink'; path: string; target: string };

/** Defaults for /etc/gdo/agent.json (the agent's schema, agent/daemon/config, fills in every other key).
 *  First boot adds the node's identity from its bootstrap (agent/enrol/firstboot.ts); until then the node
 *  has no key in the ledger and stays inert. */
export const DEFAULT_AGENT_CONFIG = {
  state_dir: '/var/lib/gdo',
  log: { level: 'info' },
} as const;

/** Where `--site` goes in the image; agent.json names it only when the image has one. */
export const SITE_FILE = '/etc/gdo/site.json';

export interface PayloadInput {
  stageDir: string; // where generated files are written
  bundle: string;
  runtimeDir: string; // bin/node, LICENSE
  runtimeVersion: string;
  addonsDir: string; // <package>/<file> per NATIVE_ADDONS
  moduleFiles: readonly ModuleFile[];
  unitsDir: string;
  agentConfig: object;
  site: object | undefined;
}

function dirsOf(path: string): string[] {
  const parts = path.split('/').filter((p) => p !== '');
  return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

async function stage(dir: string, name: string, content: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, content);
  return path;
}

export async function buildPayload(input: PayloadInput): Promise<Entry[]> {
  await mkdir(input.stageDir, { recursive: true });
  const files: { path: string; mode: number; source: string }[] = [];
  const add = (path: string, source: string, mode = 0o644): void => { files.push({ path, mode, source }); };

  add(`${GDO_ROOT}/gdo.js`, input.bundle);
  // The ledger's writer thread (scripts/build.mjs), started by the agent beside gdo.js.
  add(`${GDO_ROOT}/ledger-writer.js`, join(dirname(input.bundle), 'ledger-writer.js'));
  // The chunks scripts/build.mjs splits off (loaded on demand, relative to gdo.js), sorted so the
  // image stays reproducible.
  const chunkDir = join(dirname(input.bundle), 'chunks');
  for (const name of (await readdir(chunkDir).catch(() => [] as string[])).sort()) add(`${GDO_ROOT}/chunks/${name}`, join(chunkDir, name));
  add(`${GDO_ROOT}/bin/node`, join(input.runtimeDir, 'bin', 'node'), 0o755);
  add(`${GDO_ROOT}/share/doc/node/LICENSE`, join(input.runtimeDir, 'LICENSE'));
  // dist/gdo.js is an ESM bundle (scripts/build.mjs, format 'esm'); without "type": "module" next to it
  // Node 20 would parse it as CommonJS.
  add(`${GDO_ROOT}/package.json`, await stage(input.stageDir, 'package.json',
    `${JSON.stringify({ name: 'gdo-runtime', private: true, type: 'module' }, null, 2)}\n`));
  add(`${GDO_ROOT}/bin/gdo`, await stage(input.stageDir, 'gdo', [
    '#!/bin/sh',
    '# gdo command line: the pinned arm64 Node runtime running the bundled agent (see /opt/gdo/build.json).',
    `exec ${GDO_ROOT}/bin/node ${GDO_ROOT}/gdo.js "$@"`,
    '',
  ].join('\n')), 0o755);
  for (const m of input.moduleFiles) add(`${GDO_ROOT}/node_modules/${m.rel}`, m.source);
  for (const addon of NATIVE_ADDONS) {
    for (const f of addon.files) add(`${GDO_ROOT}/node_modules/${addon.name}/${f}`, join(input.addonsDir, addon.name, f), 0o755);
  }
  for (const unit of UNITS) add(`${UNIT_DIR}/${unit}`, join(input.unitsDir, unit));
  add('/etc/gdo/agent.json', await stage(input.stageDir, 'agent.json', `${JSON.stringify(input.agentConfig, null, 2)}\n`));
  if (input.site) add(SITE_FILE, await stage(input.stageDir, 'site.json', `${JSON.stringify(input.site, null, 2)}\n`));
  // What went in, so a node can report exactly which build it runs.
  add(`${GDO_ROOT}/build.json`, await stage(input.stageDir, 'build.json', `${JSON.stringify({
    node: input.runtimeVersion,
    bundleSha256: await sha256(input.bundle),
    addons: Object.fromEntries(await Promise.all(NATIVE_ADDONS.map(async (a) => [a.name, await sha256(join(input.addonsDir, a.name, a.files[0] ?? ''))]))),
  }, null, 2)}\n`));

  const entries: Entry[] = [];
  const dirs = new Set<string>();
  for (const f of files) for (const d of dirsOf(f.path)) dirs.add(d);
  for (const d of [WANTS_DIR, '/usr/local/bin']) { dirs.add(d); for (const p of dirsOf(d)) dirs.add(p); }
  for (const d of [...dirs].sort()) entries.push({ kind: 'dir', path: d, mode: 0o755 });
  for (const f of files.sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const st = await stat(f.source);
    entries.push({ kind: 'file', path: f.path, mode: f.mode, source: f.source, size: st.size });
  }
  for (const unit of UNITS) entries.push({ kind: 'symlink', path: `${WANTS_DIR}/${unit}`, target: `${UNIT_DIR}/${unit}` });
  entries.push({ kind: 'symlink', path: '/usr/local/bin/gdo', target: `${GDO_ROOT}/bin/gdo` });
  return entries;
}

/** Bytes the entries take on an ext4 with `blockSize` blocks: data rounded to blocks plus one block of
 *  metadata slack per entry (directory blocks, extent leaves), so sizing errs on the generous side. */
export function payloadBytes(entries: readonly Entry[], blockSize: number): number {
  let total = 0;
  for (const e of entries) {
    const data = e.kind === 'file' ? Math.ceil(e.size / blockSize) * blockSize : 0;
    total += data + blockSize + Math.ceil(data / (blockSize * 340)) * blockSize;
  }
  return total;
}
