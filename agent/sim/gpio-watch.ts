// What the simulated site shows of a node's outputs: the fake GPIO header's state file (rewritten by the
// agent on every change, agent/daemon/parts/fake-board-file.ts), watched and diffed into line changes.
import { existsSync, readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

export interface LineChange { line: number; label: string; level: 0 | 1; at: number }

interface FileLines { lines?: Record<string, { mode: string; level: 0 | 1; label?: string }> }

export function readOutputs(file: string): Map<number, { label: string; level: 0 | 1 }> {
  const out = new Map<number, { label: string; level: 0 | 1 }>();
  if (!existsSync(file)) return out;
  let data: FileLines;
  try {
    data = JSON.parse(readFileSync(file, 'utf8')) as FileLines;
  } catch {
    return out; // being replaced right now; the next change event reads it again
  }
  for (const [k, v] of Object.entries(data.lines ?? {})) {
    if (v.mode === 'output') out.set(Number(k), { label: v.label ?? `GPIO ${k}`, level: v.level });
  }
  return out;
}

export class GpioWatch {
  readonly #file: string;
  readonly #onChange: (c: LineChange) => void;
  #last = new Map<number, { label: string; level: 0 | 1 }>();
  #watcher: FSWatcher | undefined;

  constructor(file: string, onChange: (c: LineChange) => void) {
    this.#file = file;
    this.#onChange = onChange;
  }

  start(): void {
    // The agent replaces the file (temporary file, rename), so the directory is what can be watched.
    this.#watcher = watch(dirname(this.#file), (_ev, name) => { if (name === basename(this.#file)) this.check(); });
    this.#watcher.on('error', () => { /* the directory went away at shutdown */ });
    this.check();
  }

  check(): void {
    const now = readOutputs(this.#file);
    for (const [line, s] of now) {
      const before = this.#last.get(line);
      // A line first seen at rest (0: de-energised) is the agent starting up, not news.
      if (before === undefined ? s.level === 1 : before.level !== s.level) this.#onChange({ line, label: s.label, level: s.level, at: Date.now() });
    }
    this.#last = now;
  }

  stop(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
  }
}
