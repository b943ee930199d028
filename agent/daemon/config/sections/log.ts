// Logging: pino JSON lines on stdout (journald keeps them).
import { c, type Node } from '../schema.ts';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const logSchema: Node = c.obj('Logging (JSON lines on stdout; secrets and badge ids are never written).', {
  level: c.oneOf('Least severe level written; `gdo agent --log-level` overrides it.', LOG_LEVELS, 'info'),
});
