// The site a data directory is connected to (`gdo site connect`): DIR/site-link.json, mode 0600 since it
// holds the operator account's MQTT password, and the CA that signed the broker's certificate copied
// beside it (DIR/site-link-ca.crt), so the desk keeps working when the file it came from is gone.
// Kept apart from DIR/site.json, which is the site config that `gdo provision` hands to nodes.
import { X509Certificate } from 'node:crypto';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LINK_FILE = 'site-link.json';
export const LINK_CA_FILE = 'site-link-ca.crt';

export interface SiteLink {
  v: 1;
  /** mqtt://host:port or mqtts://host:port. */
  broker: string;
  /** The operator account, one of the hub's sync.broker_operators; the desk's peer name. */
  name: string;
  /** Secret. */
  password: string;
  /** File name of the CA inside the data directory, or null for the system's CAs / plain MQTT. */
  ca_file: string | null;
  connected_at: string;
}

export function linkPath(dir: string): string { return join(dir, LINK_FILE); }

/** The data directory's site link, or null when none is recorded; an unreadable one is an error naming the file. */
export function readSiteLink(dir: string): SiteLink | null {
  const path = linkPath(dir);
  if (!existsSync(path)) return null;
  let v: unknown;
  try { v = JSON.parse(readFileSync(path, 'utf8')); } catch (e) {
    throw new Error(`${path} is not readable JSON (${(e as Error).message}); run gdo site connect again`);
  }
  const o = v as Partial<SiteLink> | null;
  if (!o || o.v !== 1 || typeof o.broker !== 'string' || typeof o.name !== 'string' || typeof o.password !== 'string'
    || !(o.ca_file === null || typeof o.ca_file === 'string')) {
    throw new Error(`${path} is not a site link of this version of gdo; run gdo site connect again`);
  }
  return o as SiteLink;
}

/** The CA's PEM bytes of a link, read from the data directory. */
export function linkCa(dir: string, link: SiteLink): Buffer | undefined {
  if (link.ca_file === null) return undefined;
  const path = join(dir, link.ca_file);
  try { return readFileSync(path); } catch (e) {
    throw new Error(`the site's CA ${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); run gdo site connect again with --ca FILE`);
  }
}

/** PEM text holding at least one certificate, or an error naming the option. */
export function checkCaPem(pem: Buffer, what: string): void {
  if (!/-----BEGIN CERTIFICATE-----/.test(pem.toString('latin1'))) throw new Error(`${what} holds no PEM certificate (-----BEGIN CERTIFICATE-----)`);
  try { new X509Certificate(pem); } catch (e) {
    throw new Error(`${what} is not a readable certificate: ${(e as Error).message}`);
  }
}

function writeAtomic(path: string, data: string | Buffer, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}

/** Records the link: the CA first, then the link file that names it, each written whole. */
export function writeSiteLink(dir: string, link: Omit<SiteLink, 'v' | 'ca_file' | 'connected_at'>, ca: Buffer | undefined, now = new Date()): SiteLink {
  if (ca) writeAtomic(join(dir, LINK_CA_FILE), ca, 0o644);
  else rmSync(join(dir, LINK_CA_FILE), { force: true });
  const full: SiteLink = { v: 1, ...link, ca_file: ca ? LINK_CA_FILE : null, connected_at: now.toISOString() };
  writeAtomic(linkPath(dir), `${JSON.stringify(full, null, 2)}\n`, 0o600);
  return full;
}

/** Forgets the link; true when there was one. */
export function removeSiteLink(dir: string): boolean {
  const had = existsSync(linkPath(dir));
  rmSync(linkPath(dir), { force: true });
  rmSync(join(dir, LINK_CA_FILE), { force: true });
  return had;
}
