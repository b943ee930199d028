// Where the running gdo was started from, as its entry file says (agent/cli/bundle-entry.ts): code that
// scripts/build.mjs splits into chunks sees its chunk as import.meta.url, but a child gdo process must be
// started on the entry file, which is what runs the CLI (agent/sim/agent-proc.ts).
let entry: string | undefined;

export function setEntryFile(path: string): void { entry = path; }

/** The bundle's entry file (dist/gdo.js, /opt/gdo/gdo.js); undefined when running from the sources. */
export function entryFile(): string | undefined { return entry; }
