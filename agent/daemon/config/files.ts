// The files and directories a configuration names, checked by `gdo config check` and before the agent
// starts: a key whose file is missing, a directory, unreadable or (for a secret) open to every user is a
// ConfigError naming that key, exit 78. Only keys this node uses are checked (tls_* on a hub, say).
// The agent refuses to start only on what it cannot decide a badge without (state_dir, the ledger, the
// fake GPIO file). Without a sync or broker file its doors still decide from the replica, and that part
// fails naming the key and retries until the file is right (test/tls/hub-cert-process.test.ts), so a
// hub's certificate expiring or a door's password going missing never stops a door.
import { accessSync, constants, statSync, type Stats } from 'node:fs';
import { dirname } from 'node:path';
import { ConfigError } from './errors.ts';
import type { AgentConfig } from './index.ts';

interface FileRule {
  key: string;
  path: string;
  /** 'file': must exist. 'made': the agent creates it, so it may be absent, but its directory must exist. */
  kind: 'file' | 'made';
  /** Read by the agent; mode 0600 expected: no bit for other users. */
  secret?: boolean;
  write?: boolean;
  /** Needed by sync or the broker only: the agent runs without it (see above). */
  sync?: boolean;
}

function stat(path: string): Stats | undefined {
  return statSync(path, { throwIfNoEntry: false });
}

function can(path: string, mode: number): string | undefined {
  try { accessSync(path, mode); return undefined; } catch (err) { return (err as NodeJS.ErrnoException).code ?? 'denied'; }
}

function checkDir(key: string, path: string, what: string): void {
  const st = stat(path);
  if (!st) throw new ConfigError(key, `${key}: ${what} ${path} does not exist`);
  if (!st.isDirectory()) throw new ConfigError(key, `${key}: ${what} ${path} is not a directory`);
  const denied = can(path, constants.W_OK | constants.X_OK);
  if (denied) throw new ConfigError(key, `${key}: cannot write in ${what} ${path} (${denied})`);
}

function checkFile(r: FileRule): void {
  const st = stat(r.path);
  if (!st) {
    if (r.kind === 'file') throw new ConfigError(r.key, `${r.key}: ${r.path} does not exist`);
    checkDir(r.key, dirname(r.path), 'the directory of');
    return;
  }
  if (!st.isFile()) throw new ConfigError(r.key, `${r.key}: ${r.path} is ${st.isDirectory() ? 'a directory' : 'not a regular file'}, expected a file`);
  const denied = can(r.path, constants.R_OK | (r.write ? constants.W_OK : 0));
  if (denied) throw new ConfigError(r.key, `${r.key}: cannot ${r.write ? 'read and write' : 'read'} ${r.path} (${denied})`);
  if (r.secret && (st.mode & 0o007) !== 0) {
    throw new ConfigError(r.key, `${r.key}: ${r.path} is a secret open to every user (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}); chmod 600 it`);
  }
}

/** The rules for what this configuration uses; paths are already resolved against state_dir. */
function rules(cfg: AgentConfig): FileRule[] {
  const out: FileRule[] = [{ key: 'ledger.file', path: cfg.ledger.file, kind: 'made', write: true }];
  const add = (key: string, path: string, kind: FileRule['kind'], extra: Partial<FileRule> = {}): void => {
    if (path !== '') out.push({ key, path, kind, ...extra });
  };
  if (cfg.gpio.backend === 'fake') add('gpio.fake_state_file', cfg.gpio.fake_state_file, 'made', { write: true });
  const s = cfg.sync;
  const embedded = s.broker === 'embedded';
  if (s.broker !== '' && !embedded) add('sync.password_file', s.password_file, 'file', { secret: true, sync: true });
  if (s.broker !== '') add('sync.ca_file', s.ca_file, 'file', { sync: true });
  if (embedded || s.mosquitto_dir !== '') add('sync.broker_secret_file', s.broker_secret_file, 'file', { secret: true, sync: true });
  if (embedded && s.tls_cert_file !== '') {
    add('sync.tls_cert_file', s.tls_cert_file, 'file', { sync: true });
    add('sync.tls_key_file', s.tls_key_file, 'file', { secret: true, sync: true });
  }
  return out;
}

/**
 * Throws a ConfigError for the first key whose file cannot serve: every one for 'check', those the
 * agent cannot run without for 'start'. state_dir must exist: first boot creates it
 * (agent/enrol/firstboot.ts), so a missing one is a typo, not a directory to make.
 */
export function checkConfigFiles(cfg: AgentConfig, scope: 'check' | 'start'): void {
  checkDir('state_dir', cfg.state_dir, 'state directory');
  for (const r of rules(cfg)) if (scope === 'check' || !r.sync) checkFile(r);
  if (scope === 'check' && cfg.sync.mosquitto_dir !== '') checkDir('sync.mosquitto_dir', cfg.sync.mosquitto_dir, 'directory');
}
