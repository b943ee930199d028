// Output for people (text) or scripts (--json: one JSON document on stdout).
// Warnings (a guard rail that lets the command go ahead) go to stderr as `gdo: warning: ...` lines;
// with --json they go into the document instead, as "warnings": [...], so stdout stays one document.
export interface Output {
  json: boolean;
  result(value: unknown, text: () => string): void;
  /** Something staff should know, that does not stop the command (README, "The CLI"). */
  warn(message: string): void;
}

export function makeOutput(json: boolean): Output {
  const warnings: string[] = [];
  return {
    json,
    warn(message) {
      if (json) warnings.push(message);
      else process.stderr.write(`gdo: warning: ${message}\n`);
    },
    result(value, text) {
      if (!json) { process.stdout.write(`${text()}\n`); return; }
      const isRecord = typeof value === 'object' && value !== null && !Array.isArray(value);
      // A list result has no place for them: they go to stderr then, as in text mode.
      if (!isRecord) for (const w of warnings) process.stderr.write(`gdo: warning: ${w}\n`);
      const doc = isRecord && warnings.length ? { ...(value as Record<string, unknown>), warnings } : value;
      process.stdout.write(`${JSON.stringify(doc)}\n`);
    },
  };
}
