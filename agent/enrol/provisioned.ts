// The admin's record of each provisioned device, <data>/provisioned/<name>.json (mode 0600): the roles and
// hostname the node was given and the SHA-256 of its enrolment token, so `gdo node approve` can tell a
// device we flashed from anyone else asking to join. Once approved, the record names the key the token was
// spent on: a token enrols one key, once.
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurable, unlinkDurable } from './durable.ts';
import { EnrolError } from './errors.ts';
import { FieldReader, NODE_NAME, type NodeRole } from './fields.ts';

export const PROVISIONED_DIR = 'provisioned';

export interface ProvisionedRecord {
  v: 1;
  name: string;
  roles: NodeRole[];
  hostname: string;
  tokenSha256: string;
  provisionedAt: string;
  via: 'image' | 'target';
  /** Where the bootstrap went: the image file or the target directory. */
  where: string;
  approved?: { key: string; kx: string; event: string; at: string };
}

function recordPath(dataDir: string, name: string): string {
  if (!NODE_NAME.test(name)) throw new EnrolError('ENROL_NOT_PROVISIONED', `'${name}' is not a node name (a-z, 0-9, -)`);
  return join(dataDir, PROVISIONED_DIR, `${name}.json`);
}

function parseRecord(text: string, path: string): ProvisionedRecord {
  let v: unknown;
  try { v = JSON.parse(text); } catch (err) {
    throw new EnrolError('ENROL_NOT_PROVISIONED', `${path} is damaged (not JSON: ${(err as Error).message}); provision the node again`);
  }
  const f: FieldReader = new FieldReader('ENROL_NOT_PROVISIONED', path);
  const o = f.object(v, 'the record');
  if (o.v !== 1) f.fail('v', '1', o.v);
  f.hex(o.tokenSha256, 'tokenSha256', 32);
  f.name(o.name, 'name');
  f.roles(o.roles, 'roles');
  return o as unknown as ProvisionedRecord;
}

export function readProvisioned(dataDir: string, name: string): ProvisionedRecord | undefined {
  const path = recordPath(dataDir, name);
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return parseRecord(text, path);
}

export function writeProvisioned(dataDir: string, rec: ProvisionedRecord): void {
  mkdirSync(join(dataDir, PROVISIONED_DIR), { recursive: true, mode: 0o700 });
  writeFileDurable(recordPath(dataDir, rec.name), `${JSON.stringify(rec, null, 2)}\n`, 0o600);
}

export function removeProvisioned(dataDir: string, name: string): void {
  unlinkDurable(recordPath(dataDir, name));
}

export function listProvisioned(dataDir: string): ProvisionedRecord[] {
  let names: string[];
  try { names = readdirSync(join(dataDir, PROVISIONED_DIR)); } catch { return []; }
  return names.filter((n) => n.endsWith('.json')).sort()
    .map((n) => parseRecord(readFileSync(join(dataDir, PROVISIONED_DIR, n), 'utf8'), join(dataDir, PROVISIONED_DIR, n)));
}
