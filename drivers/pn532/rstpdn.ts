// The PN532's RSTPDN pin on a GPIO line: the last resort for a reader that stopped answering (docs/design-notes.md
// "Known failure modes"). RSTPDN is active low: driven low the chip is held in reset, released high it runs.
// The line is opened active-low so that logical "on" means "in reset"; it idles off (electrical high), and
// docs/wiring.md puts it on a pin pulled up at power-up, so the reader runs while the agent does not.
// After a reset the chip is back in LowVbat mode: the poller's next init sends the HSU wake-up sequence.
import type { GpioBackend, OutputLine } from '../gpio/types.ts';
import { Sleeper, systemClock, type Clock } from './clock.ts';

export interface RstpdnPin {
  line: number;
  /** Only for a level shifter or transistor that inverts the signal; default false (direct wiring). */
  inverted?: boolean;
}

/** Opens the RSTPDN line with the reader running (not in reset). */
export function openRstpdn(gpio: GpioBackend, pin: RstpdnPin): OutputLine {
  return gpio.openOutput(pin.line, { activeLow: !pin.inverted, initial: false, label: 'pn532.rstpdn' });
}

export interface RstpdnPulseOptions {
  clock?: Clock;
  /** How long the pin is held low; far above the chip's minimum reset pulse. Default 20 ms. */
  lowMs?: number;
  /** Wait after release so the oscillator and firmware are up before the wake-up sequence. Default 100 ms. */
  bootMs?: number;
}

/** A `resetPulse` for Pn532Poller: RSTPDN low for lowMs, high again, then bootMs for the chip to start. */
export function rstpdnPulse(line: OutputLine, options: RstpdnPulseOptions = {}): () => Promise<void> {
  const sleeper = new Sleeper(options.clock ?? systemClock);
  const lowMs = options.lowMs ?? 20;
  const bootMs = options.bootMs ?? 100;
  return async () => {
    line.set(true);
    try {
      await sleeper.sleep(lowMs);
    } finally {
      line.set(false); // never leave the reader held in reset
    }
    await sleeper.sleep(bootMs);
  };
}
