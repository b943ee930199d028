// In-memory GPIO backend for tests and the simulated site. Behaviour that must match onoff (active-low,
// debounce, edges, busy and closed lines) comes from the same helpers the onoff backend uses.
import type { Clock } from './clock.ts';
import { EdgeDebouncer } from './edge-debouncer.ts';
import { checkLineNumber, GpioError } from './errors.ts';
import { FakeBoard } from './fake-board.ts';
import type {
  GpioBackend, InputChange, InputLine, InputOptions, OutputLine, OutputOptions,
} from './types.ts';
import { fromLevel, toLevel } from './types.ts';

export interface FakeGpioOptions {
  /** Share a board between backends to model a process restart. Default: a new board on `clock`. */
  board?: FakeBoard;
  clock?: Clock;
}

export class FakeGpioBackend implements GpioBackend {
  readonly name = 'fake';
  readonly board: FakeBoard;
  readonly #open = new Map<number, { close(): void }>();

  constructor(opts: FakeGpioOptions = {}) {
    this.board = opts.board ?? new FakeBoard(opts.clock);
  }

  openOutput(line: number, opts: OutputOptions = {}): OutputLine {
    this.#claim(line);
    const board = this.board;
    const activeLow = opts.activeLow ?? false;
    let value = opts.initial ?? false;
    let closed = false;
    const release = (): void => { closed = true; this.#open.delete(line); };
    board.setMode(line, 'output');
    board.write(line, toLevel(value, activeLow), opts.label);
    const out: OutputLine = {
      line,
      activeLow,
      set(on: boolean): void {
        if (closed) throw closedError(line, opts.label);
        board.write(line, toLevel(on, activeLow), opts.label);
        value = on;
      },
      get: () => value,
      close: release,
      unexport(): void {
        release();
        board.setMode(line, 'unexported');
      },
    };
    this.#open.set(line, out);
    return out;
  }

  openInput(line: number, opts: InputOptions = {}): InputLine {
    this.#claim(line);
    const board = this.board;
    const activeLow = opts.activeLow ?? false;
    board.setMode(line, 'input');
    const debouncer = new EdgeDebouncer(
      board.clock, fromLevel(board.level(line), activeLow), opts.debounceMs ?? 0, opts.edge ?? 'both');
    board.onDrive(line, (level) => debouncer.feed(fromLevel(level, activeLow)));
    let closed = false;
    const input: InputLine = {
      line,
      activeLow,
      read(): boolean {
        if (closed) throw closedError(line, opts.label);
        return fromLevel(board.level(line), activeLow);
      },
      watch(listener: (change: InputChange) => void): () => void {
        if (closed) throw closedError(line, opts.label);
        return debouncer.watch(listener);
      },
      close: (): void => {
        if (closed) return;
        closed = true;
        debouncer.close();
        board.onDrive(line, undefined);
        this.#open.delete(line);
      },
    };
    this.#open.set(line, input);
    return input;
  }

  close(): void {
    for (const l of [...this.#open.values()]) l.close();
  }

  #claim(line: number): void {
    checkLineNumber(line);
    if (this.#open.has(line)) {
      throw new GpioError('GPIO_LINE_BUSY', `GPIO line ${line} is already open`, { path: `fake:${line}` });
    }
  }
}

function closedError(line: number, label: string | undefined): GpioError {
  return new GpioError('GPIO_LINE_CLOSED', `GPIO line ${line}${label ? ` (${label})` : ''} is closed`);
}
