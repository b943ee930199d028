// A configuration error names the key path and what was expected ("doors[0].unlock_ms must be an integer
// 500..10000, got 60000", docs/design-notes.md habit 7). `gdo agent` and `gdo config check` exit with EX_CONFIG (78)
// on it, which the unit's RestartPreventExitStatus= uses to stop a restart loop that cannot succeed.

export const EX_CONFIG = 78;

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  /** Key path in the configuration file, e.g. "doors[0].pins.strike.line"; "" for the file itself. */
  readonly key: string;

  constructor(key: string, message: string) {
    super(message);
    this.name = 'ConfigError';
    this.key = key;
  }
}
