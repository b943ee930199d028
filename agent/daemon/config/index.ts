// The agent's configuration: one JSON file (/etc/gdo/agent.json), checked against the schema assembled
// from each part's fragment, then across parts (reader references, GPIO lines used twice).
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, resolve } from 'node:path';
import { ControllerConfigError } from '../../controllers/config-error.ts';
import { parseDoorConfig, type DoorConfig } from '../../controllers/door-config.ts';
import { parseMachineConfig, type MachineConfig } from '../../controllers/machine-config.ts';
import { ConfigError } from './errors.ts';
import { c, toJsonSchema, validate, type ObjectNode } from './schema.ts';
import { accessSchema } from './sections/access.ts';
import { doorsSchema } from './sections/doors.ts';
import { gpioSchema } from './sections/gpio.ts';
import { httpSchema } from './sections/http.ts';
import { ledgerSchema } from './sections/ledger.ts';
import { logSchema, type LogLevel } from './sections/log.ts';
import { machinesSchema } from './sections/machines.ts';
import { bootstrapFileSchema, enrolmentSchema, nodeSchema, orgSchema, siteFileSchema, stateDirSchema } from './sections/node.ts';
import { readersSchema } from './sections/readers.ts';
import { checkSyncTransport, syncSchema } from './sections/sync.ts';

export { ConfigError, EX_CONFIG } from './errors.ts';
export type { LogLevel } from './sections/log.ts';

export const agentSchema: ObjectNode = c.obj('gdo agent configuration (/etc/gdo/agent.json).', {
  node: nodeSchema,
  org: orgSchema,
  state_dir: stateDirSchema,
  site_file: siteFileSchema,
  bootstrap_file: bootstrapFileSchema,
  enrolment: enrolmentSchema,
  ledger: ledgerSchema,
  readers: readersSchema,
  gpio: gpioSchema,
  doors: doorsSchema,
  machines: machinesSchema,
  sync: syncSchema,
  access: accessSchema,
  http: httpSchema,
  log: logSchema,
});

export interface ReaderConfig {
  id: string;
  transport: 'serial' | 'simulated';
  path: string;
  baud: number;
  poll_ms: number;
  health_check_ms: number;
  reset_line: number | null;
}

export type DoorEntry = DoorConfig & { reader: string };
export type MachineEntry = MachineConfig & { reader: string };

export interface AgentConfig {
  node: { name: string; roles: NodeRole[] };
  org: string;
  state_dir: string;
  site_file: string;
  bootstrap_file: string;
  enrolment: { request_file: string };
  ledger: { file: string; synchronous: 'FULL' | 'NORMAL'; health_check_ms: number; max_skew_ms: number };
  readers: ReaderConfig[];
  gpio: { backend: 'onoff' | 'fake'; fake_state_file: string };
  doors: DoorEntry[];
  machines: MachineEntry[];
  sync: {
    broker: string; username: string; password_file: string; embedded_listen: string; broker_secret_file: string; broker_operators: string[];
    tls_cert_file: string; tls_key_file: string; ca_file: string; allow_plain: boolean; mosquitto_dir: string; mosquitto_pid_file: string;
  };
  access: {
    max_offline_ms: number | null;
    offline_policy: DegradedPolicy;
    clock_tolerance_ms: number;
    clock_quorum: number;
    clock_policy: DegradedPolicy;
    staff_groups: string[];
  };
  http: { listen: string };
  log: { level: LogLevel };
}

export type NodeRole = 'door' | 'machine' | 'hub';
export type DegradedPolicy = 'deny_all' | 'staff_only' | 'allow_known';

/** What this node is, from what it drives: several roles at once are normal. */
export function rolesOf(cfg: AgentConfig): NodeRole[] {
  const roles: NodeRole[] = [];
  if (cfg.doors.length > 0) roles.push('door');
  if (cfg.machines.length > 0) roles.push('machine');
  if (cfg.sync.broker === 'embedded') roles.push('hub');
  return roles;
}

export function jsonSchema(): Record<string, unknown> {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://gdo.invalid/schemas/agent.json',
    title: 'gdo agent configuration',
    ...toJsonSchema(agentSchema),
  };
}

/** Reads and checks a configuration file; every problem is a ConfigError naming the key. */
export function loadConfig(file: string): AgentConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('', `${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseConfig(raw);
}

export function parseConfig(raw: unknown): AgentConfig {
  // Doors and machines are shape-checked here and completed by the controllers' own parsers, whose
  // defaults depend on other keys (rex_unlock_ms defaults to unlock_ms).
  const base = validate(agentSchema, raw, '') as Omit<AgentConfig, 'doors' | 'machines'> & { doors: unknown[]; machines: unknown[] };
  const stateDir = resolve(base.state_dir);
  const inState = (p: string): string => (p === '' || isAbsolute(p) ? p : resolve(stateDir, p));
  const cfg: AgentConfig = {
    ...base,
    node: { ...base.node, name: base.node.name === '' ? hostName() : base.node.name },
    state_dir: stateDir,
    site_file: inState(base.site_file),
    bootstrap_file: inState(base.bootstrap_file),
    enrolment: { request_file: inState(base.enrolment.request_file) },
    ledger: { ...base.ledger, file: inState(base.ledger.file) },
    gpio: { ...base.gpio, fake_state_file: inState(base.gpio.fake_state_file) },
    sync: {
      ...base.sync, password_file: inState(base.sync.password_file), broker_secret_file: inState(base.sync.broker_secret_file),
      tls_cert_file: inState(base.sync.tls_cert_file), tls_key_file: inState(base.sync.tls_key_file), ca_file: inState(base.sync.ca_file),
      mosquitto_dir: inState(base.sync.mosquitto_dir), mosquitto_pid_file: inState(base.sync.mosquitto_pid_file),
    },
    doors: [],
    machines: [],
  };
  const rawRecords = raw as { doors?: Record<string, unknown>[]; machines?: Record<string, unknown>[] };
  const firstReader = cfg.readers[0]?.id;
  cfg.doors = (rawRecords.doors ?? []).map((d, i) => ({
    ...controllerParse(() => parseDoorConfig(d), `doors[${i}]`, 'door'),
    reader: (d['reader'] as string | undefined) ?? firstReader ?? '',
  }));
  cfg.machines = (rawRecords.machines ?? []).map((m, i) => ({
    ...controllerParse(() => parseMachineConfig(m), `machines[${i}]`, 'machine'),
    reader: (m['reader'] as string | undefined) ?? firstReader ?? '',
  }));
  crossCheck(cfg);
  checkSyncTransport(base.sync);
  return cfg;
}

/** Runs a controller parser and rewrites its key ("door.front.unlock_ms") into this file's path. */
function controllerParse<T>(parse: () => T, path: string, kind: 'door' | 'machine'): T {
  try {
    return parse();
  } catch (err) {
    if (!(err instanceof ControllerConfigError)) throw err;
    const rest = err.key.split('.').slice(2).join('.');
    const key = rest === '' ? `${path}.id` : `${path}.${rest}`;
    const msg = err.message.replace(new RegExp(`^${kind}( '[^']*')?: `), '');
    throw new ConfigError(key, rest !== '' && msg.startsWith(`${rest} `) ? `${key}${msg.slice(rest.length)}` : `${key}: ${msg}`);
  }
}

function crossCheck(cfg: AgentConfig): void {
  const unique = (list: { id: string }[], path: string): void => {
    const seen = new Set<string>();
    list.forEach((x, i) => {
      if (seen.has(x.id)) throw new ConfigError(`${path}[${i}].id`, `${path}[${i}].id must be unique, got '${x.id}' twice`);
      seen.add(x.id);
    });
  };
  unique(cfg.readers, 'readers');
  unique([...cfg.doors, ...cfg.machines], 'doors and machines');
  // An event accepted up to max_skew_ms ahead must not, by itself, make this clock look behind
  // (docs/access-model.md, "What shows a clock is wrong").
  if (cfg.ledger.max_skew_ms > cfg.access.clock_tolerance_ms) {
    throw new ConfigError('ledger.max_skew_ms', `ledger.max_skew_ms (${cfg.ledger.max_skew_ms}) must be at most access.clock_tolerance_ms (${cfg.access.clock_tolerance_ms}): an event dated that far ahead would make this node's own clock look behind`);
  }
  const users = new Map<string, string>();
  const controllers = [
    ...cfg.doors.map((d, i) => ({ what: `doors[${i}]`, reader: d.reader })),
    ...cfg.machines.map((m, i) => ({ what: `machines[${i}]`, reader: m.reader })),
  ];
  for (const { what, reader } of controllers) {
    if (cfg.readers.length === 0) throw new ConfigError('readers', `readers must list the reader ${what} uses, got none`);
    if (!cfg.readers.some((r) => r.id === reader)) {
      throw new ConfigError(`${what}.reader`, `${what}.reader must be one of ${cfg.readers.map((r) => `'${r.id}'`).join(', ')}, got '${reader}'`);
    }
    const other = users.get(reader);
    if (other) throw new ConfigError(`${what}.reader`, `${what}.reader: reader '${reader}' already serves ${other}; each door or machine needs its own reader`);
    users.set(reader, what);
  }
  // One line, one role: a button wired to a relay's line would drive the relay (door-config.ts checks
  // within one block; this checks across blocks and reader reset lines).
  const lines = new Map<number, string>();
  const claim = (line: number, key: string): void => {
    const other = lines.get(line);
    if (other) throw new ConfigError(key, `${key} must differ from ${other}, got GPIO ${line} for both`);
    lines.set(line, key);
  };
  cfg.doors.forEach((d, i) => { for (const [n, p] of Object.entries(d.pins)) if (p) claim(p.line, `doors[${i}].pins.${n}.line`); });
  cfg.machines.forEach((m, i) => { for (const [n, p] of Object.entries(m.pins)) if (p) claim(p.line, `machines[${i}].pins.${n}.line`); });
  cfg.readers.forEach((r, i) => { if (r.reset_line !== null) claim(r.reset_line, `readers[${i}].reset_line`); });
  if (cfg.gpio.fake_state_file !== '' && cfg.gpio.backend !== 'fake') {
    throw new ConfigError('gpio.fake_state_file', `gpio.fake_state_file is for the fake backend only, got it with backend '${cfg.gpio.backend}'`);
  }
}

function hostName(): string {
  const h = hostname().toLowerCase().replace(/[^a-z0-9-]/g, '-').replace(/^-+/, '');
  return h === '' ? 'gdo-node' : h.slice(0, 63);
}
