// The doors and machines as one supervised part. They are built against stable stand-ins for the
// decider, sink and policy (daemon.ts), so the ledger and the access service can restart underneath them
// without the controllers losing their lines or their card subscriptions. Each reader's health is tied to
// the controllers it serves (reader-link.ts): a reader in fault keeps its door locked and its machine off.
import { DoorController, type DoorStatus } from '../../controllers/door.ts';
import { MachineController, type MachineStatus } from '../../controllers/machine.ts';
import { linkReaderFaults, type ReaderHealthSource } from '../../controllers/reader-link.ts';
import type { AccessDecider, CardSource, DoorPolicy, EventSink } from '../../controllers/types.ts';
import type { GpioBackend } from '../../../drivers/gpio/types.ts';
import type { AgentConfig } from '../config/index.ts';
import type { Part, PartHealth } from '../supervisor.ts';

export interface ControllersPartOptions {
  config: AgentConfig;
  gpio: () => GpioBackend | undefined;
  reader: (id: string) => ReaderHealthSource & { cards: CardSource };
  decider: AccessDecider;
  sink: EventSink;
  policy: DoorPolicy;
  onError: (err: unknown, where: string) => void;
  /** Called after (re)start so the daemon can apply a ledger fault that is current. */
  onStarted: () => void;
}

type Ctl = DoorController | MachineController;

export class ControllersPart implements Part {
  readonly name = 'controllers';
  readonly deps = ['gpio'] as const;
  readonly #o: ControllersPartOptions;
  #doors: DoorController[] = [];
  #machines: MachineController[] = [];
  #unlink: (() => void)[] = [];

  constructor(opts: ControllersPartOptions) {
    this.#o = opts;
  }

  /** Every door and machine controller running now. */
  all(): Ctl[] { return [...this.#doors, ...this.#machines]; }

  start(): void {
    const gpio = this.#o.gpio();
    if (!gpio) throw new Error('no GPIO backend');
    const { decider, sink, policy, config } = this.#o;
    const doors: DoorController[] = [];
    const machines: MachineController[] = [];
    const byReader = new Map<string, Ctl[]>();
    const add = (reader: string, c: Ctl): void => { byReader.set(reader, [...(byReader.get(reader) ?? []), c]); };
    try {
      for (const d of config.doors) {
        const ctl = new DoorController({
          config: d, gpio, decider, sink, policy, cards: this.#o.reader(d.reader).cards, onError: (e) => this.#o.onError(e, `door ${d.id}`),
        });
        ctl.start(); // outputs at their safe level before anything else
        doors.push(ctl);
        add(d.reader, ctl);
      }
      for (const m of config.machines) {
        const ctl = new MachineController({
          config: m, gpio, decider, sink, cards: this.#o.reader(m.reader).cards, onError: (e) => this.#o.onError(e, `machine ${m.id}`),
        });
        ctl.start();
        machines.push(ctl);
        add(m.reader, ctl);
      }
    } catch (err) {
      for (const c of [...doors, ...machines]) c.stop();
      throw err;
    }
    this.#doors = doors;
    this.#machines = machines;
    this.#unlink = [...byReader].map(([id, targets]) => linkReaderFaults(this.#o.reader(id), targets));
    this.#o.onStarted();
  }

  stop(): void {
    for (const u of this.#unlink.splice(0)) u();
    for (const c of this.all()) {
      try {
        c.stop();
      } catch (err) {
        this.#o.onError(err, 'stop');
      }
    }
    this.#doors = [];
    this.#machines = [];
  }

  /** Every output to its safe level now, synchronously (exit handlers). */
  safeNow(): void {
    for (const c of this.all()) {
      try {
        c.safeNow();
      } catch {
        // the next one matters as much; `gdo gpio safe` runs after us anyway
      }
    }
  }

  doorStatus(): DoorStatus[] { return this.#doors.map((d) => d.status()); }
  machineStatus(): MachineStatus[] { return this.#machines.map((m) => m.status()); }

  health(): PartHealth {
    const expected = this.#o.config.doors.length + this.#o.config.machines.length;
    const started = [...this.doorStatus(), ...this.machineStatus()].filter((s) => s.started).length;
    return started === expected ? { state: 'ok' } : { state: 'failed', detail: `${expected - started} controller(s) not running` };
  }
}
