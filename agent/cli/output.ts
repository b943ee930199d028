// Output for people (text) or scripts (--json: one JSON document on stdout).
export interface Output { json: boolean; result(value: unknown, text: () => string): void }

export function makeOutput(json: boolean): Output {
  return {
    json,
    result(value, text) { process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${text()}\n`); },
  };
}
