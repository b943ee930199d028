// `gdo agent`, `gdo config check | schema | reference`, `gdo status`, `gdo gpio safe`: running a node and
// looking after it. Exit codes beyond main.ts's: 78 (EX_CONFIG) for an invalid configuration, which the
// unit's RestartPreventExitStatus=78 uses to stop a restart loop that cannot succeed.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { forceSafe, safeOutputsFromConfig } from '../controllers/safe-outputs.ts';
import { ConfigError, EX_CONFIG, jsonSchema, loadConfig, rolesOf, type AgentConfig, type LogLevel } from '../daemon/config/index.ts';
import { checkConfigFiles } from '../daemon/config/files.ts';
import { renderConfigReference } from '../daemon/config/reference.ts';
import { LOG_LEVELS } from '../daemon/config/sections/log.ts';
import { openGpioBackend } from '../daemon/parts/gpio.ts';
import { parseListen } from '../daemon/http-server.ts';
import { onlyFlags, str, UsageError, type Args } from './args.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';

export const DEFAULT_CONFIG = '/etc/gdo/agent.json';

function configFile(a: Args): string {
  return str(a, 'config', process.env['GDO_CONFIG'] ?? DEFAULT_CONFIG);
}

/** Loads the config and checks the files it names, or prints the one-line error; undefined means "exit 78". */
function loadOrReport(file: string, out: Output, files: 'check' | 'start'): AgentConfig | undefined {
  try {
    const cfg = loadConfig(file);
    checkConfigFiles(cfg, files);
    return cfg;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (out.json) out.result({ ok: false, file, key: err.key, error: err.message }, () => '');
    process.stderr.write(`gdo: config ${file}: ${err.message}\n`);
    return undefined;
  }
}

async function cmdAgent(a: Args, out: Output): Promise<number> {
  onlyFlags(a, ['config', 'log-level', 'json', 'help']);
  const level = a.flags.get('log-level');
  if (level !== undefined && !(LOG_LEVELS as readonly unknown[]).includes(level)) {
    throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got ${String(level)}`);
  }
  const config = loadOrReport(configFile(a), out, 'start');
  if (!config) return EX_CONFIG;
  // Loaded here, not at the top: the other commands must not pay for the daemon's modules.
  const { runAgent } = await import('../daemon/run.ts');
  const code = await runAgent({ config, ...(level !== undefined && { logLevel: level as LogLevel }) });
  process.exit(code); // the parts are stopped; no handle may keep a stopped agent alive
}

async function cmdConfig(sub: string | undefined, a: Args, out: Output): Promise<number> {
  switch (sub) {
    case 'check': {
      onlyFlags(a, ['json', 'config']);
      const file = a.pos[0] ?? configFile(a);
      const cfg = loadOrReport(file, out, 'check');
      if (!cfg) return EX_CONFIG;
      const roles = rolesOf(cfg);
      out.result({ ok: true, file, config: cfg }, () => `${file}: ok (node ${cfg.node.name}${roles.length ? `, ${roles.join(' + ')}` : ''}; `
        + `${cfg.doors.length} door(s), ${cfg.machines.length} machine(s), ${cfg.readers.length} reader(s), GPIO ${cfg.gpio.backend}, `
        + `sync ${cfg.sync.broker === '' ? 'off' : cfg.sync.broker === 'embedded' ? 'embedded broker' : 'on'})`);
      return 0;
    }
    case 'schema':
      onlyFlags(a, ['json']);
      process.stdout.write(`${JSON.stringify(jsonSchema(), null, 2)}\n`);
      return 0;
    case 'reference':
      onlyFlags(a, ['json']);
      process.stdout.write(renderConfigReference());
      return 0;
    default:
      throw new UsageError(`unknown subcommand 'config ${sub ?? ''}'`);
  }
}

interface StatusBody {
  node?: { name?: string; roles?: string[]; version?: string; uptime_s?: number };
  ready?: boolean;
  healthy?: boolean;
  problems?: string[];
  enrolment?: { state?: string; reason?: string; name?: string };
  parts?: { name: string; state: string; detail?: string; restarts: number }[];
  readers?: { id: string; state: string; last_error?: { message: string } }[];
  doors?: { id: string; mode: string; unlocked: boolean; open: boolean; faults: string[]; alarms: { forced_open: boolean; held_open: boolean } }[];
  machines?: { id: string; relay: boolean; out_of_service: boolean; faults: string[]; session?: { member_id?: string } }[];
  ledger?: { events: number; heads: number; pending: number } | null;
  sync?: { broker: string; state: string; peers: { name: string; lag_events?: number }[] } | null;
  offline?: { since: string | null; kind: string; source: string; max_offline_ms: number | null; policy: string };
  decisions?: { at: string; resource: string; allow: boolean; reason: string; member_id?: string }[];
}

function statusUrl(a: Args): string {
  const explicit = a.flags.get('url');
  if (typeof explicit === 'string') return explicit.replace(/\/+$/, '');
  const file = configFile(a);
  let listen = '127.0.0.1:8742';
  try {
    listen = loadConfig(file).http.listen;
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    if (a.flags.has('config')) throw new UsageError(`config ${file}: ${err.message}`);
  }
  if (listen === '') throw new UsageError(`the agent's status endpoint is off (http.listen is "" in ${file})`);
  const { host, port } = parseListen(listen);
  if (port === 0) throw new UsageError(`http.listen in ${file} picks a port at start; pass --url http://HOST:PORT`);
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

async function cmdStatus(a: Args, out: Output): Promise<number> {
  onlyFlags(a, ['json', 'config', 'url']);
  const url = statusUrl(a);
  let body: StatusBody;
  try {
    const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = (await res.json()) as StatusBody;
  } catch (err) {
    throw new Error(`no agent answering at ${url}: ${(err as Error).message}`);
  }
  out.result(body, () => statusText(body));
  return body.healthy ? 0 : 1;
}

/** The offline clock (agent/daemon/offline-clock.ts) in words: since when, and what happens when. */
function offlineText(o: NonNullable<StatusBody['offline']>): string {
  const since = o.kind === 'unknown' || o.since === null ? 'last contact unknown'
    : o.kind === 'peer' ? `last contact with a peer ${o.since}${o.source === 'saved' ? ' (before the last restart)' : ''}`
      : `no contact yet, counting since the first start ${o.since}`;
  const limit = o.max_offline_ms === null ? 'no limit' : `${o.policy} after ${Math.round(o.max_offline_ms / 1000)} s without one`;
  return `${since}; ${limit}`;
}

function statusText(s: StatusBody): string {
  const lines: string[] = [];
  const n = s.node ?? {};
  lines.push(`node ${n.name ?? '?'} (${(n.roles ?? []).join(', ') || 'no role'}), gdo ${n.version ?? '?'}, up ${n.uptime_s ?? 0} s, `
    + `${s.ready ? (s.healthy ? 'ready' : 'degraded') : 'starting'}`);
  if (s.enrolment) lines.push(`enrolment  ${s.enrolment.state ?? '?'}${s.enrolment.reason ? ` (${s.enrolment.reason})` : ''}`);
  lines.push(`parts      ${(s.parts ?? []).map((p) => `${p.name} ${p.state}${p.restarts ? ` (${p.restarts} restarts)` : ''}`).join(', ')}`);
  for (const r of s.readers ?? []) lines.push(`reader     ${r.id}: ${r.state}${r.last_error ? ` (${r.last_error.message})` : ''}`);
  for (const d of s.doors ?? []) {
    const alarms = Object.entries(d.alarms).filter(([, v]) => v).map(([k]) => k);
    lines.push(`door       ${d.id}: ${d.unlocked ? 'unlocked' : 'locked'}, ${d.open ? 'open' : 'closed'}, ${d.mode}`
      + `${alarms.length ? `, ALARM ${alarms.join(' ')}` : ''}${d.faults.length ? `, faults: ${d.faults.join(' ')}` : ''}`);
  }
  for (const m of s.machines ?? []) {
    lines.push(`machine    ${m.id}: ${m.relay ? `running${m.session?.member_id ? ` for ${m.session.member_id}` : ''}` : 'off'}`
      + `${m.out_of_service ? ', OUT OF SERVICE' : ''}${m.faults.length ? `, faults: ${m.faults.join(' ')}` : ''}`);
  }
  if (s.ledger) lines.push(`ledger     ${s.ledger.events} events, ${s.ledger.heads} head(s), ${s.ledger.pending} pending`);
  lines.push(`sync       ${s.sync ? `${s.sync.state} via ${s.sync.broker}; peers: ${s.sync.peers.map((p) => `${p.name}${p.lag_events !== undefined ? ` (lag ${p.lag_events})` : ''}`).join(', ') || 'none'}` : 'off'}`);
  if (s.offline) lines.push(`offline    ${offlineText(s.offline)}`);
  if ((s.problems ?? []).length) lines.push(`problems   ${s.problems!.join('; ')}`);
  const d = s.decisions ?? [];
  if (d.length) {
    lines.push('last decisions');
    for (const x of d.slice(0, 5)) lines.push(`  ${x.at} ${x.resource} ${x.allow ? 'ALLOW' : 'deny '} ${x.reason}${x.member_id ? ` ${x.member_id}` : ''}`);
  }
  return lines.join('\n');
}

/**
 * `gdo gpio safe`: from ExecStartPre/ExecStopPost, with nothing but the config file. Lenient: a broken
 * block still has its readable pins forced safe (safeOutputsFromConfig), because a typo elsewhere in the
 * file must not leave a strike energised after a crash.
 */
async function cmdGpio(sub: string | undefined, a: Args, out: Output): Promise<number> {
  if (sub !== 'safe') throw new UsageError(`unknown subcommand 'gpio ${sub ?? ''}'`);
  onlyFlags(a, ['json', 'config']);
  const file = configFile(a);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}; no outputs could be named`);
  }
  const { outputs, errors } = safeOutputsFromConfig(raw);
  const gpioCfg = gpioOf(raw);
  let result: ReturnType<typeof forceSafe> = { ok: [], failed: [] };
  // A hub, or a node not yet configured, drives nothing: it must not need a GPIO chip (a board or
  // VM without one would otherwise fail this ExecStartPre and never start the agent).
  if (outputs.length > 0) {
    const { backend } = await openGpioBackend(gpioCfg);
    try {
      result = forceSafe(outputs, backend);
    } finally {
      backend.close();
    }
  }
  const report = {
    backend: gpioCfg.backend,
    safe: result.ok,
    failed: result.failed.map((f) => ({ name: f.name, line: f.line, error: (f.error as Error)?.message ?? String(f.error) })),
    config_errors: errors.map((e) => e.message),
  };
  out.result(report, () => [
    ...result.ok.map((o) => `${o.name.padEnd(20)} GPIO ${String(o.line).padStart(2)} -> ${o.level ? 'high' : 'low'} (safe)`),
    ...report.failed.map((f) => `${f.name.padEnd(20)} GPIO ${String(f.line).padStart(2)} FAILED: ${f.error}`),
    ...(outputs.length === 0 ? ['no outputs configured'] : []),
  ].join('\n'));
  // Config errors do not fail the command: everything readable was forced safe, and as ExecStartPre a
  // failure here would hide the agent's own exit 78 (which stops the restart loop) behind a start failure.
  for (const e of report.config_errors) process.stderr.write(`gdo: warning: config ${file}: ${e}\n`);
  return report.failed.length > 0 ? 1 : 0;
}

/** The gpio block, read leniently: a cold ExecStopPost must not stop at an unrelated key. */
function gpioOf(raw: unknown): AgentConfig['gpio'] {
  const r = (typeof raw === 'object' && raw !== null ? raw : {}) as Record<string, unknown>;
  const g = (typeof r['gpio'] === 'object' && r['gpio'] !== null ? r['gpio'] : {}) as Record<string, unknown>;
  const backend = g['backend'] === 'fake' ? 'fake' : 'onoff';
  const stateDir = typeof r['state_dir'] === 'string' ? r['state_dir'] : '/var/lib/gdo';
  const f = typeof g['fake_state_file'] === 'string' ? g['fake_state_file'] : '';
  return { backend, fake_state_file: f === '' || isAbsolute(f) ? f : resolve(stateDir, f) };
}

export const agentCommands: Command[] = [
  {
    name: 'agent',
    summary: 'run this node\'s daemon: doors, machines, readers, ledger, sync, status endpoint',
    help: `usage: gdo agent [--config FILE] [--log-level fatal|error|warn|info|debug|trace]

Runs the node daemon in the foreground (systemd: gdo-agent.service). JSON log lines on stdout.
--config     the configuration (default $GDO_CONFIG or ${DEFAULT_CONFIG}); see gdo config reference
--log-level  overrides log.level
Exit codes: 0 stopped by SIGTERM/SIGINT, 1 failure or uncaught error (outputs forced safe first),
78 invalid configuration (one line on stderr naming the key), a state_dir that does not exist, or a
ledger or fake GPIO file that cannot be made.`,
    run: (_sub, a, out) => cmdAgent(a, out),
  },
  {
    name: 'config',
    summary: 'check a node configuration, print its JSON Schema or its reference',
    subcommands: ['check', 'schema', 'reference'],
    help: `usage: gdo config check [FILE] [--json]   check FILE (default $GDO_CONFIG or ${DEFAULT_CONFIG})
       gdo config schema                  the JSON Schema of the configuration
       gdo config reference               the configuration reference as a Markdown table
check prints the effective configuration (defaults filled in) with --json. It also checks the files
the configuration names on this machine: state_dir exists, the ledger and fake GPIO file can be made
there, and the sync and broker files this node uses exist, are readable and (secrets) not open to others.
Exit codes: 0 valid, 78 invalid (one line on stderr naming the key and what was expected).`,
    run: (sub, a, out) => cmdConfig(sub, a, out),
  },
  {
    name: 'status',
    summary: 'ask the local agent how it is: readers, doors, machines, ledger, sync, faults',
    help: `usage: gdo status [--config FILE | --url http://HOST:PORT] [--json]

Queries the running agent's status endpoint (http.listen in the configuration, default 127.0.0.1:8742).
Exit codes: 0 ready and healthy, 1 degraded, starting or not answering.`,
    run: (_sub, a, out) => cmdStatus(a, out),
  },
  {
    name: 'gpio',
    summary: 'force every configured output to its safe level (systemd ExecStopPost)',
    subcommands: ['safe'],
    help: `usage: gdo gpio safe [--config FILE] [--json]

Drives every strike, relay, LED and buzzer of the configured doors and machines to its safe
(de-energised) level and leaves it driving. Lenient: a broken block still has its readable pins forced.
Exit codes: 0 every output named in the file is safe (configuration errors are warnings on stderr:
the readable outputs of a broken block are still forced), 1 an output could not be driven.`,
    run: (sub, a, out) => cmdGpio(sub, a, out),
  },
];
