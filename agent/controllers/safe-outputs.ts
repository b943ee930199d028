// Safe output levels without the controllers: `gdo gpio safe` runs this from systemd ExecStopPost= after the
// agent died, because a sysfs value outlives the process and a crash can leave a strike or relay energised
// (docs/design-notes.md "Power-up and crash behaviour"). Safe is logical off (de-energised) for every output: strike,
// maglock, lockout relay, LED, buzzer (see door.ts for what that means per fail mode).
import type { GpioBackend, OutputLine } from '../../drivers/gpio/types.ts';
import { ControllerConfigError, isRecord } from './config-error.ts';
import { parseDoorConfig, type DoorConfig } from './door-config.ts';
import { parseMachineConfig, type MachineConfig } from './machine-config.ts';

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
 * For `gdo gpio safe` in a cold process that has nothing but the node's configuration: the outputs of
 * `{ doors?: [...], machines?: [...] }` (the same blocks parseDoorConfig / parseMachineConfig take).
 * Lenient on purpose: a block that fails validation is reported in `errors`, but its output pins whose
 * line and active_low can still be read are forced safe anyway, because a typo in held_open_ms must not
 * leave a strike energised. A pin whose level cannot be known (bad active_low) is skipped and reported.
 */
export function safeOutputsFromConfig(raw: unknown): { outputs: SafeOutput[]; errors: ControllerConfigError[] } {
  const errors: ControllerConfigError[] = [];
  const doors: DoorConfig[] = [];
  const machines: MachineConfig[] = [];
  const loose: SafeOutput[] = [];
  const cfg = isRecord(raw) ? raw : {};
  if (!isRecord(raw)) errors.push(new ControllerConfigError('config', `config must be an object with doors and machines, got ${JSON.stringify(raw) ?? 'nothing'}`));
  const each = (key: 'doors' | 'machines', parse: (b: unknown) => void, pins: readonly string[]): void => {
    const list = cfg[key];
    if (list === undefined) return;
    if (!Array.isArray(list)) {
      errors.push(new ControllerConfigError(key, `${key} must be a list, got ${JSON.stringify(list)}`));
      return;
    }
    list.forEach((block: unknown, i) => {
      try {
        parse(block);
      } catch (err) {
        if (!(err instanceof ControllerConfigError)) throw err;
        errors.push(err);
        loose.push(...looseOutputs(block, `${key}[${i}]`, pins, errors));
      }
    });
  };
  each('doors', (b) => doors.push(parseDoorConfig(b)), ['strike', 'led', 'buzzer']);
  each('machines', (b) => machines.push(parseMachineConfig(b)), ['relay', 'led', 'buzzer']);
  const outputs = [...safeOutputsOf({ doors, machines }), ...loose];
  // One line driven once, even when two blocks name it (checkDistinctLines only sees one block).
  const seen = new Set<number>();
  return { outputs: outputs.filter((o) => !seen.has(o.line) && seen.add(o.line)), errors };
}

function looseOutputs(block: unknown, where: string, pins: readonly string[], errors: ControllerConfigError[]): SafeOutput[] {
  if (!isRecord(block) || !isRecord(block['pins'])) return [];
  const owner = typeof block['id'] === 'string' ? block['id'] : where;
  const out: SafeOutput[] = [];
  for (const name of pins) {
    const pin = block['pins'][name];
    if (!isRecord(pin)) continue;
    const { line, active_low: activeLow = false } = pin;
    if (typeof line !== 'number' || !Number.isInteger(line) || line < 0 || line > 53 || typeof activeLow !== 'boolean') {
      errors.push(new ControllerConfigError(`${where}.pins.${name}`,
        `${where}: pins.${name} cannot be forced safe: line must be 0..53 and active_low true or false, got ${JSON.stringify(pin)}`));
      continue;
    }
    out.push({ name: `${owner}.${name}`, line, active_low: activeLow });
  }
  return out;
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
