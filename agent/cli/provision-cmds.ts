// `gdo provision`: one device's bootstrap onto a built image or a running Pi's root (provisioning/provision.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnrolError } from '../enrol/errors.ts';
import { parseRoles } from '../enrol/fields.ts';
import { provisionNode } from '../../provisioning/provision.ts';
import { onlyFlags, str, UsageError, type Args } from './args.ts';
import { readSecret } from './broker-cmds.ts';
import { secretFile, withTypedErrors } from './node-cmds.ts';
import { dataDir, openLedger } from './ledger-cmds.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';

function siteConfig(a: Args): Record<string, unknown> | undefined {
  const explicit = a.flags.has('site');
  const path = explicit ? str(a, 'site') : join(dataDir(a), 'site.json');
  if (!explicit && !existsSync(path)) return undefined;
  let v: unknown;
  try { v = JSON.parse(readFileSync(path, 'utf8')); } catch (err) {
    throw new EnrolError('ENROL_PROVISION', `site file ${path} is not readable JSON: ${(err as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new EnrolError('ENROL_PROVISION', `site file ${path} must hold a JSON object`);
  return v as Record<string, unknown>;
}

/** `--config node.json`: the installer's sections of the node's agent.json (agent/enrol/node-config.ts). */
function nodeConfig(a: Args): { config: Record<string, unknown>; configFile: string } | undefined {
  if (!a.flags.has('config')) return undefined;
  const path = str(a, 'config');
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (err) {
    throw new EnrolError('ENROL_PROVISION', `--config ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let v: unknown;
  try { v = JSON.parse(text); } catch (err) {
    throw new EnrolError('ENROL_PROVISION', `--config ${path} is not valid JSON: ${(err as Error).message}`);
  }
  // The shape and every value are checked by provisionNode, which names the key path in this file.
  return { config: v as Record<string, unknown>, configFile: path };
}

function needs(a: Args, flag: string, other: string): void {
  if (a.flags.has(flag) && !a.flags.has(other)) throw new UsageError(`--${flag} needs --${other}`);
}

async function cmdProvision(a: Args, out: Output): Promise<number> {
  onlyFlags(a, ['image', 'target', 'node', 'role', 'hostname', 'broker', 'broker-user', 'broker-pass-file', 'broker-secret-file', 'wifi-ssid', 'wifi-psk-file', 'wifi-country', 'site', 'config', 'broker-name', 'data', 'force', 'json']);
  if (a.flags.has('image') === a.flags.has('target')) throw new UsageError('give exactly one of --image FILE (a built gdo image) or --target DIR (the mounted root of a running Pi)');
  needs(a, 'broker-user', 'broker');
  needs(a, 'broker-pass-file', 'broker');
  needs(a, 'broker-secret-file', 'broker');
  if (a.flags.has('broker-pass-file') && a.flags.has('broker-secret-file')) throw new UsageError('give --broker-pass-file or --broker-secret-file, not both (the password is derived from the secret)');
  needs(a, 'wifi-psk-file', 'wifi-ssid');
  needs(a, 'wifi-ssid', 'wifi-psk-file');
  needs(a, 'wifi-country', 'wifi-ssid');
  needs(a, 'broker-name', 'broker');
  const brokerNames = a.flags.has('broker-name') ? str(a, 'broker-name').split(',').map((n) => n.trim()).filter((n) => n !== '') : undefined;
  const name = str(a, 'node');
  const roles = parseRoles(str(a, 'role'));
  const broker = a.flags.has('broker') ? {
    url: str(a, 'broker'),
    username: str(a, 'broker-user', name),
    ...(a.flags.has('broker-pass-file') ? { password: secretFile(a, 'broker-pass-file') } : {}),
  } : undefined;
  const wifi = a.flags.has('wifi-ssid') ? {
    ssid: str(a, 'wifi-ssid'), psk: secretFile(a, 'wifi-psk-file'), ...(a.flags.has('wifi-country') ? { country: str(a, 'wifi-country') } : {}),
  } : undefined;
  const brokerSecret = a.flags.has('broker-secret-file') ? readSecret(str(a, 'broker-secret-file')) : undefined;
  const site = siteConfig(a);
  const wiring = nodeConfig(a);
  const l = openLedger(a);
  try {
    const r = await provisionNode({
      ledger: l, dataDir: dataDir(a), name, roles,
      ...(a.flags.has('hostname') ? { hostname: str(a, 'hostname') } : {}),
      ...(broker ? { broker } : {}), ...(brokerSecret ? { brokerSecret } : {}), ...(wifi ? { wifi } : {}), ...(site ? { site } : {}),
      ...(brokerNames ? { brokerNames } : {}),
      ...(wiring ?? {}),
      ...(a.flags.has('image') ? { image: str(a, 'image') } : { target: str(a, 'target') }),
      force: a.flags.get('force') === true,
    });
    for (const n of r.notes) process.stderr.write(`gdo: note: ${n}\n`);
    out.result(r, () => `provisioned '${r.name}' (${r.roles.join(',')}, hostname ${r.hostname}) in ${r.where}\n`
      + `  its bootstrap: ${r.bootstrap}; on first boot it asks to enrol: gdo node approve ${r.name} --request FILE`);
  } finally { l.close(); }
  return 0;
}

export const provisionCommands: Command[] = [{
  name: 'provision',
  summary: "write one node's bootstrap onto a built image or a running Pi",
  booleans: ['force'],
  help: `usage: gdo provision (--image OUT.img | --target DIR) --node NAME --role door|machine|hub[,ROLE]
         [--hostname H] [--broker URL|embedded [--broker-user U] [--broker-pass-file F | --broker-secret-file F]]
         [--broker-name NAME|IP[,NAME|IP]]
         [--wifi-ssid S --wifi-psk-file F [--wifi-country CC]] [--site site.json] [--config node.json]
         [--data DIR] [--force] [--json]
Writes the node's bootstrap (organisation and genesis, site config, broker address and credentials, a one-time
enrolment token, hostname, Wi-Fi) to gdo/bootstrap.json on the image's boot partition (no root needed), or to
DIR/boot/firmware/gdo/bootstrap.json (mode 0600) for a Pi that already runs Raspberry Pi OS (install gdo there
with provisioning/install.sh). Never a private key: the node makes its own at first boot. The token's hash is
kept in DATA/provisioned/NAME.json for gdo node approve. --broker-user defaults to the node name; the site
config defaults to DATA/site.json when it exists. --force replaces a bootstrap already there.
--broker-secret-file (made by gdo broker secret): the node's broker password is derived from it; a hub
(--broker embedded) gets the secret itself, which its broker needs to let the nodes in.
TLS: every node gets the site CA (DATA/ca.crt, made by gdo init) and verifies its broker's name against it
(--broker mqtts://hub.local:8883). A hub (--broker embedded) also gets a broker certificate issued by the CA
for HOSTNAME.local and HOSTNAME; --broker-name adds names and IP addresses (--broker-name hub.space.org,10.0.0.2)
the nodes may use in their --broker URL. An older DATA without a CA: gdo broker tls --make-ca.
--config node.json: the node's readers, doors, machines, gpio, ledger, access, http and log sections of
agent.json, sync.allow_plain, and a hub's sync.broker_operators, sync.embedded_listen, sync.mosquitto_dir
(examples in provisioning/examples/, wired as docs/wiring.md). First boot writes them into
/etc/gdo/agent.json. Checked against the agent's schema, merged as first boot will merge them: an error
names the key path and nothing is written. Identity, state, broker and TLS keys come from the flags above,
never from the file. A door or machine role whose agent.json would drive nothing gets a note.`,
  run: (_sub, a, out) => withTypedErrors(() => cmdProvision(a, out)),
}];
