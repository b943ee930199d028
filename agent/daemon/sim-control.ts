// The simulated site's hands on a simulated node (the /sim/ endpoints of http-server.ts): cards on
// simulated readers, levels on the inputs of the fake GPIO header (door switch, exit button).
import type { FakeBoard } from '../../drivers/gpio/fake-board.ts';
import { SimError, type SimControl } from './http-server.ts';
import type { ReaderPart } from './parts/reader.ts';

export function simControl(readers: readonly ReaderPart[], board: () => FakeBoard | undefined): SimControl {
  const simulator = (id: string) => {
    const r = readers.find((x) => x.id === id);
    if (!r) throw new SimError(404, `no reader '${id}'`);
    if (!r.simulator) throw new SimError(404, `reader '${id}' is not a simulated reader (or has not started)`);
    return r.simulator;
  };
  return {
    presentCard: (id, uid) => simulator(id).present({ uid }),
    removeCard: (id) => simulator(id).remove(),
    driveInput: (line, level) => {
      const b = board();
      if (!b) throw new SimError(404, 'GPIO is not the fake backend (or has not started)');
      if (b.mode(line) === 'output') throw new SimError(400, `GPIO ${line} is an output; only inputs can be driven`);
      b.drive(line, level);
    },
  };
}
