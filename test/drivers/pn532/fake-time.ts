// Runs the real poller, protocol core and simulator on one FakeClock over a MemoryTransport, so minutes
// of reader behaviour (intervals, backoff, garbage, a vanished adapter) take milliseconds and every timing
// is exact. Time jumps from one pending timer to the next; between jumps the event loop is allowed to run
// the promise continuations (and the core's setImmediate) that the fired timers released.
import { FakeClock } from '../../../drivers/gpio/fake-clock.ts';
import { Pn532Poller, type PollerOptions } from '../../../drivers/pn532/poller.ts';
import { FrameParser } from '../../../drivers/pn532/frame-parser.ts';
import { TFI_HOST_TO_PN532 } from '../../../drivers/pn532/frame.ts';
import { Pn532Simulator, type Pn532SimulatorOptions } from '../../../drivers/pn532/simulator.ts';
import { MemoryTransport } from '../../../drivers/serial/memory-transport.ts';

const settle = async (): Promise<void> => {
  for (let i = 0; i < 4; i++) await new Promise<void>((r) => setImmediate(r));
};

/** Advances fake time by `ms`, timer by timer, letting async work run in between. */
export async function runFor(clock: FakeClock, ms: number): Promise<void> {
  const end = clock.now() + ms;
  await settle();
  for (;;) {
    const due = clock.nextTimerAt();
    if (due === undefined || due > end) break;
    clock.advance(Math.max(0, due - clock.now()));
    await settle();
  }
  clock.advance(Math.max(0, end - clock.now()));
  await settle();
}

/** Runs fake time until `check` holds; throws naming `what` after `maxMs` of fake time. */
export async function runUntil(clock: FakeClock, check: () => boolean, what: string, maxMs = 600_000): Promise<void> {
  const end = clock.now() + maxMs;
  await settle();
  while (!check()) {
    const due = clock.nextTimerAt();
    if (due === undefined || due > end) throw new Error(`fake time: ${what} did not happen within ${maxMs} ms`);
    clock.advance(Math.max(0, due - clock.now()));
    await settle();
  }
}

export interface SentCommand {
  at: number;
  code: number;
}

export interface FakeTimeRig {
  clock: FakeClock;
  sim: Pn532Simulator;
  transport: MemoryTransport;
  poller: Pn532Poller;
  /** Every command frame the host sent, with the fake time it was sent. */
  sent: SentCommand[];
  /** Times of every open() attempt on the port. */
  opens: number[];
  stop(): Promise<void>;
}

export const FAKE_TIME_OPTIONS: Omit<PollerOptions, 'transport'> = {
  intervalMs: 200,
  removalPolls: 2,
  healthCheckMs: 5_000,
  maxConsecutiveErrors: 3,
  silenceMs: 5_000,
  backoff: { initialMs: 100, maxMs: 1_600 },
  pn532: { ackTimeoutMs: 50, responseTimeoutMs: 500, sendAttempts: 2 },
};

export function fakeTimeRig(
  options: Partial<PollerOptions> = {},
  simOptions: Pn532SimulatorOptions = {},
  clock = new FakeClock(),
): FakeTimeRig {
  const sim = new Pn532Simulator({ clock, ...simOptions });
  const sent: SentCommand[] = [];
  const spy = new FrameParser((f) => {
    if (f.kind === 'data' && f.tfi === TFI_HOST_TO_PN532 && f.body.length > 0) sent.push({ at: clock.now(), code: f.body[0]! });
  });
  const transport = new MemoryTransport({
    receive: (bytes) => {
      spy.push(bytes);
      sim.receive(bytes);
    },
    onOutput: (l) => sim.onOutput(l),
    cancelOutput: () => sim.cancelOutput(),
  });
  const opens: number[] = [];
  const open = transport.open.bind(transport);
  transport.open = () => {
    opens.push(clock.now());
    return open();
  };
  const poller = new Pn532Poller({ ...FAKE_TIME_OPTIONS, ...options, transport, clock });
  return {
    clock, sim, transport, poller, sent, opens,
    stop: async () => {
      let done = false;
      const stopped = poller.stop().then(() => { done = true; });
      await runUntil(clock, () => done, 'poller stop', 60_000);
      await stopped;
      sim.unjam();
      sim.cancelOutput();
    },
  };
}

/** Gaps between consecutive commands with this code. */
export function gaps(sent: SentCommand[], code: number, from = 0): number[] {
  const at = sent.filter((c) => c.code === code && c.at >= from).map((c) => c.at);
  return at.slice(1).map((t, i) => t - at[i]!);
}
