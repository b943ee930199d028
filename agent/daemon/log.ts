// pino JSON lines on stdout, which journald stores. Nothing secret reaches a log line: badge UIDs are bearer
// secrets on cheap cards (docs/design-notes.md "Credentials"), and keys, passwords and tokens are secrets anywhere.
// Two layers: pino's redact paths for the keys we know the agent logs, and a scrubbing formatter that walks
// every logged object, so a nested field or a stray Buffer (most likely a UID) is caught too.
import pino, { type DestinationStream, type Logger } from 'pino';
import type { LogLevel } from './config/index.ts';

export type { Logger } from 'pino';

/** Keys whose values are secrets or badge ids, at any depth. */
const SECRET_KEY = /^(uid|uids|credential|credentials|card_uid|badge|badge_id|password|passphrase|secret|token|seed|private_?key|authorization)$/i;
export const REDACTED = '[redacted]';

/** Paths handled by pino's own redaction (top level and one level down). */
export const REDACT_PATHS = [
  'uid', 'credential', 'card_uid', 'badge', 'badge_id', 'password', 'passphrase', 'secret', 'token', 'seed', 'private_key',
  '*.uid', '*.credential', '*.card_uid', '*.badge', '*.badge_id', '*.password', '*.passphrase', '*.secret', '*.token',
  '*.seed', '*.private_key', 'req.headers.authorization',
];

/** A copy of `value` with secret keys replaced and Buffers reduced to their length. */
export function scrub(value: unknown, depth = 0): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.length} bytes]`;
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= 8) return '[nested]';
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  if (value instanceof Error) return scrubError(value, depth);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? REDACTED : scrub(v, depth + 1);
  return out;
}

function scrubError(err: Error, depth: number): unknown {
  const base = pino.stdSerializers.err(err) as unknown as Record<string, unknown>;
  return scrub({ ...base }, depth + 1);
}

export interface LoggerOptions {
  level: LogLevel;
  /** Default: stdout, written synchronously so the last line before a crash is not lost. */
  destination?: DestinationStream;
  base?: Record<string, unknown>;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino({
    level: opts.level,
    base: { ...(opts.base ?? {}), pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    messageKey: 'msg',
    redact: { paths: REDACT_PATHS, censor: REDACTED },
    serializers: { err: (e: unknown) => (e instanceof Error ? scrubError(e, 0) : scrub(e)) },
    formatters: {
      level: (label) => ({ level: label }),
      log: (obj) => scrub(obj) as Record<string, unknown>,
    },
  }, opts.destination ?? pino.destination({ dest: 1, sync: true }));
}

/** A short description of an error for one-line fields ("ENOENT: no such file"). */
export function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
