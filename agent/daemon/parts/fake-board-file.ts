// A fake GPIO header whose levels live in a JSON file as well as in memory: sysfs values outlive the agent,
// and so must the fake ones, so that a test (or the simulated site) can see the outputs of an agent that
// was killed, and `gdo gpio safe` on the fake backend has a state to fix (docs/design-notes.md "Power-up and crash
// behaviour"). Written atomically (temporary file, then rename) on every change.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { FakeBoard } from '../../../drivers/gpio/fake-board.ts';
import type { Level } from '../../../drivers/gpio/types.ts';

export interface FakeLineState {
  mode: 'input' | 'output' | 'unexported';
  level: Level;
  label?: string;
}

export interface FakeBoardFile {
  lines: Record<string, FakeLineState>;
}

export class FileBackedBoard extends FakeBoard {
  readonly file: string;
  readonly #labels = new Map<number, string>();
  readonly #touched = new Set<number>();
  #loading = false;

  constructor(file: string) {
    super();
    this.file = file;
    this.#load();
  }

  override write(line: number, level: Level, label: string | undefined): void {
    super.write(line, level, label);
    if (label !== undefined) this.#labels.set(line, label);
    this.#changed(line);
  }

  override setMode(line: number, mode: 'input' | 'output' | 'unexported'): void {
    super.setMode(line, mode);
    this.#changed(line);
  }

  override drive(line: number, level: Level): void {
    super.drive(line, level);
    this.#changed(line);
  }

  snapshot(): FakeBoardFile {
    const lines: Record<string, FakeLineState> = {};
    for (const line of [...this.#touched].sort((a, b) => a - b)) {
      const label = this.#labels.get(line);
      lines[String(line)] = { mode: this.mode(line), level: this.level(line), ...(label !== undefined && { label }) };
    }
    return { lines };
  }

  #changed(line: number): void {
    this.#touched.add(line);
    if (this.#loading) return;
    const tmp = `${this.file}.tmp-${process.pid}`;
    writeFileSync(tmp, `${JSON.stringify(this.snapshot())}\n`);
    renameSync(tmp, this.file);
  }

  #load(): void {
    if (!existsSync(this.file)) return;
    const data = JSON.parse(readFileSync(this.file, 'utf8')) as FakeBoardFile;
    this.#loading = true;
    try {
      for (const [key, s] of Object.entries(data.lines ?? {})) {
        const line = Number(key);
        if (s.mode === 'output') {
          super.setMode(line, 'output');
          this.write(line, s.level, s.label);
        } else if (s.mode === 'input') {
          super.setMode(line, 'input');
          this.drive(line, s.level);
        }
        this.#touched.add(line);
      }
    } finally {
      this.#loading = false;
    }
  }
}

/** Reads a fake state file without opening a backend (tests, `gdo status` on the simulated site). */
export function readFakeBoardFile(file: string): FakeBoardFile {
  return JSON.parse(readFileSync(file, 'utf8')) as FakeBoardFile;
}
