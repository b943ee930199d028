// Safe output levels without the controllers: `gdo gpio safe` runs this from systemd ExecStopPost= after the
// agent died, because a sysfs value outlives the process and a crash can leave a strike or relay energised
// (HARDWARE.md "Power-up and crash behaviour"). Safe is logical off (de-energised) for every output: strike,
// maglock, lockout relay, LED, buzzer (see door.ts for what that means per fail mode).
import type { GpioBackend, OutputLine } from '../../drivers/gpio/types.ts';
import type { DoorConfig } from './door-config.ts';
import type { MachineConfig } from './machine-config.ts';

export interface SafeOutput {
  /** e.g. "front.strike" */
  name: string;
  line: number;
  active_low: boolean;
}

export interface ForceSafeResult {
  /** Outputs now at their safe level, with the electrical level driven. */
  ok: { name: string; line: number; level: 0 | 1 }[];
  /** Outputs that could not be driven; the others were still attempted. */
  failed: { name: string; line: number; error: unknown }[];
}

/** Opens an output already at its safe level: no glitch through the energised level at start. */
export function openSafeOutput(gpio: GpioBackend, pin: { line: number; active_low: boolean }, label: string): OutputLine {
  return gpio.openOutput(pin.line, { activeLow: pin.active_low, initial: false, label });
}

/** Every output of the configured doors and machines. */
export function safeOutputsOf(nodes: { doors?: DoorConfig[]; machines?: MachineConfig[] }): SafeOutput[] {
  const list: SafeOutput[] = [];
  const add = (owner: string, name: string, pin: { line: number; active_low: boolean } | undefined): void => {
    if (pin) list.push({ name: `${owner}.${name}`, line: pin.line, active_low: pin.active_low });
  };
  for (const d of nodes.doors ?? []) {
    add(d.id, 'strike', d.pins.strike);
    add(d.id, 'led', d.pins.led);
    add(d.id, 'buzzer', d.pins.buzzer);
  }
  for (const m of nodes.machines ?? []) {
    add(m.id, 'relay', m.pins.relay);
    add(m.id, 'led', m.pins.led);
    add(m.id, 'buzzer', m.pins.buzzer);
  }
  return list;
}

/**
 * Drives each output to its safe level and leaves it exported and driving (not unexported: an unexported
 * pin falls back to its pull, which energises an active-low relay). One failing line does not stop the
 * others. Synchronous, so it also works from an exit handler.
 */
export function forceSafe(outputs: SafeOutput[], gpio: GpioBackend): ForceSafeResult {
  const result: ForceSafeResult = { ok: [], failed: [] };
  for (const o of outputs) {
    try {
      const line = gpio.openOutput(o.line, { activeLow: o.active_low, initial: false, label: o.name });
      line.set(false); // openOutput already drove it; write again so a stale value cannot survive
      line.close();
      result.ok.push({ name: o.name, line: o.line, level: o.active_low ? 1 : 0 });
    } catch (error) {
      result.failed.push({ name: o.name, line: o.line, error });
    }
  }
  return result;
}
