// The GPIO backend as a supervised part. onoff is imported only when it is used: it loads a native
// binding that the fake backend, the simulated site and the tests do not need.
import type { GpioBackend } from '../../../drivers/gpio/types.ts';
import { FakeGpioBackend } from '../../../drivers/gpio/fake.ts';
import { FakeBoard } from '../../../drivers/gpio/fake-board.ts';
import type { AgentConfig } from '../config/index.ts';
import type { Part, PartHealth } from '../supervisor.ts';
import { FileBackedBoard } from './fake-board-file.ts';

/** Makes the configured backend; shared with `gdo gpio safe`, which drives the same lines from outside. */
export async function openGpioBackend(cfg: AgentConfig['gpio']): Promise<{ backend: GpioBackend; board?: FakeBoard }> {
  if (cfg.backend === 'fake') {
    const board = cfg.fake_state_file !== '' ? new FileBackedBoard(cfg.fake_state_file) : new FakeBoard();
    return { backend: new FakeGpioBackend({ board }), board };
  }
  const { OnoffGpioBackend } = await import('../../../drivers/gpio/onoff-backend.ts');
  const backend = new OnoffGpioBackend();
  backend.chip(); // fails now, with GPIO_SYSFS_MISSING / GPIO_CHIP_NOT_FOUND, rather than at the first line
  return { backend };
}

export class GpioPart implements Part {
  readonly name = 'gpio';
  readonly #cfg: AgentConfig['gpio'];
  #backend: GpioBackend | undefined;
  #board: FakeBoard | undefined;

  constructor(cfg: AgentConfig['gpio']) {
    this.#cfg = cfg;
  }

  get backend(): GpioBackend | undefined { return this.#backend; }
  /** The fake header, for the simulated site's inputs and the status endpoint. */
  get board(): FakeBoard | undefined { return this.#board; }

  async start(): Promise<void> {
    const { backend, board } = await openGpioBackend(this.#cfg);
    this.#backend = backend;
    this.#board = board;
  }

  stop(): void {
    // Outputs keep their level on close (safe by now: the controllers stopped first).
    this.#backend?.close();
    this.#backend = undefined;
  }

  health(): PartHealth {
    return this.#backend ? { state: 'ok' } : { state: 'failed', detail: 'no GPIO backend' };
  }
}
