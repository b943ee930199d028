// The node's own part of /etc/gdo/agent.json, chosen by the installer and carried by the bootstrap
// (`gdo provision --config node.json`, bootstrap field `config`): what the node drives and how it behaves.
// Everything that says who the node is, where its state lives and how it reaches the broker belongs to
// provisioning's flags and to first boot, so a config file copied from one node to the next cannot carry
// another node's identity or credentials (provisioning/README.md, "--config: the node's hardware").
import { ConfigError, parseConfig, type AgentConfig } from '../daemon/config/index.ts';
import { EnrolError, type EnrolErrorCode } from './errors.ts';
import type { NodeRole } from './fields.ts';

/** agent.json sections --config sets whole. */
export const CONFIG_SECTIONS = ['readers', 'doors', 'machines', 'gpio', 'ledger', 'access', 'http', 'log'] as const;
/** The keys of `sync` --config may set: the broker a hub runs or looks after, and plain TCP where a site
 *  chooses it; not the node's way to the broker nor its credentials. */
export const CONFIG_SYNC_KEYS = ['broker_operators', 'embedded_listen', 'allow_plain', 'mosquitto_dir', 'mosquitto_pid_file'] as const;

/** Keys provisioning or first boot write, and who to ask instead. */
const OWNED: Record<string, string> = {
  node: 'first boot writes it from --node and --role',
  org: 'first boot writes it from the admin\'s ledger',
  state_dir: 'first boot writes it (/var/lib/gdo)',
  site_file: 'first boot writes it from --site',
  bootstrap_file: 'first boot writes it',
  enrolment: 'first boot writes it',
  'sync.broker': 'give --broker',
  'sync.username': 'give --broker-user',
  'sync.password_file': 'first boot writes it from --broker-pass-file or --broker-secret-file',
  'sync.broker_secret_file': 'first boot writes it for a hub from --broker-secret-file',
  'sync.ca_file': 'first boot writes it from the site CA provisioning puts in the bootstrap',
  'sync.tls_cert_file': 'first boot writes it for a hub from the certificate provisioning puts in the bootstrap',
  'sync.tls_key_file': 'first boot writes it for a hub from the certificate provisioning puts in the bootstrap',
};

export interface NodeConfigContext {
  /** What names the config in errors: the file given to --config, or the bootstrap. */
  where: string;
  /** Prefix of key paths in errors: '' for node.json itself, 'config.' inside a bootstrap. */
  prefix: string;
  roles: readonly NodeRole[];
  /** The broker the node is provisioned with (--broker), undefined for none. */
  broker: string | undefined;
  code?: EnrolErrorCode;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(o: Record<string, unknown>, path: string, allowed: readonly string[], fail: (key: string, msg: string) => never): void {
  for (const k of Object.keys(o)) {
    const key = path === '' ? k : `${path}.${k}`;
    const owner = OWNED[key];
    if (owner !== undefined) fail(key, `${key} is not for --config: ${owner}`);
    if (!allowed.includes(k)) fail(key, `${key} is not a key --config sets (it sets ${allowed.map((a) => (path === '' ? a : `${path}.${a}`)).join(', ')})`);
  }
}

/**
 * Checks a node config: only the installer's keys, doors and machines matching the node's roles, and
 * every value as the agent's schema checks it (agent/daemon/config), with the identity first boot adds.
 * Errors name the key path, as `gdo config check` does.
 */
export function checkNodeConfig(value: unknown, ctx: NodeConfigContext): Record<string, unknown> {
  const code = ctx.code ?? 'ENROL_PROVISION';
  const fail = (key: string, msg: string): never => {
    // Every message starts with its key path, which is under `config` inside a bootstrap.
    throw new EnrolError(code, `${ctx.where}: ${key === '' ? '' : ctx.prefix}${msg}`, { cause: new ConfigError(key, msg) });
  };
  if (!isObject(value)) fail('', `${ctx.prefix === '' ? 'the file' : ctx.prefix.slice(0, -1)} must hold a JSON object of agent.json sections (${CONFIG_SECTIONS.join(', ')}, sync)`);
  const cfg = value as Record<string, unknown>;
  checkKeys(cfg, '', [...CONFIG_SECTIONS, 'sync'], fail);
  const sync = cfg['sync'];
  if (sync !== undefined) {
    if (!isObject(sync)) fail('sync', 'sync must be an object');
    checkKeys(sync as Record<string, unknown>, 'sync', CONFIG_SYNC_KEYS, fail);
    const s = sync as Record<string, unknown>;
    const got = ctx.broker === undefined ? 'no --broker' : `--broker ${ctx.broker}`;
    if (s['embedded_listen'] !== undefined && ctx.broker !== 'embedded') fail('sync.embedded_listen', `sync.embedded_listen is for a hub running the embedded broker (--broker embedded), got ${got}`);
    // Operator accounts live in the broker's account list: the embedded broker's, or the site Mosquitto's files.
    if (s['broker_operators'] !== undefined && ctx.broker !== 'embedded' && s['mosquitto_dir'] === undefined) {
      fail('sync.broker_operators', `sync.broker_operators is for a hub running the embedded broker (--broker embedded) or the site's Mosquitto (sync.mosquitto_dir), got ${got}`);
    }
  }
  // The ledger refuses a node's door and machine events unless its enrolment names the role (dapps/shared/guards.ts).
  for (const [section, role] of [['doors', 'door'], ['machines', 'machine']] as const) {
    const list = cfg[section];
    if (Array.isArray(list) && list.length > 0 && !ctx.roles.includes(role)) {
      fail(section, `${section} lists ${list.length} ${section === 'doors' ? 'door' : 'machine'}${list.length === 1 ? '' : 's'}, so the node needs the ${role} role (--role ${[...ctx.roles, role].join(',')}), got --role ${ctx.roles.join(',')}`);
    }
  }
  try {
    // Plain TCP to the broker is a matter of --broker, which the merged check (checkAgentConfig) judges;
    // here it would be blamed on a key of this file. An allow_plain the file sets still counts.
    parseConfig({
      ...cfg, state_dir: '/var/lib/gdo', node: { name: 'check', roles: [...ctx.roles] },
      sync: { allow_plain: true, ...(sync as Record<string, unknown> | undefined), broker: ctx.broker ?? '' },
    });
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    fail(err.key, err.message);
  }
  return cfg;
}

/** The agent config first boot will write, checked by the agent's schema; `where` names it in errors. */
export function checkAgentConfig(cfg: Record<string, unknown>, where: string): AgentConfig {
  try {
    return parseConfig(cfg);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new EnrolError('ENROL_PROVISION', `${where}: ${err.message}`, { cause: err });
  }
}

/** A role the node is enrolled for but drives nothing of: most likely a forgotten --config. */
export function idleRoles(cfg: AgentConfig, roles: readonly NodeRole[]): string[] {
  const notes: string[] = [];
  if (roles.includes('door') && cfg.doors.length === 0) notes.push('has the door role but drives no door: give its wiring with --config (provisioning/examples/front-door.json)');
  if (roles.includes('machine') && cfg.machines.length === 0) notes.push('has the machine role but locks out no machine: give its wiring with --config (provisioning/examples/laser.json)');
  return notes;
}
