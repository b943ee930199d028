// Poller + driver against the simulator behind serialport's MockBinding.
import { Pn532Simulator } from '../../../drivers/pn532/simulator.ts';
import { MockSerialBench } from '../../../drivers/serial/mock-bench.ts';
import { SerialPortTransport } from '../../../drivers/serial/serialport-transport.ts';
import { pollerContract, type Rig } from './poller-contract.ts';

let next = 0;

async function mockRig(): Promise<Rig> {
  const bench = new MockSerialBench();
  const path = `/dev/mock-pn532-${process.pid}-${next++}`;
  const sim = new Pn532Simulator({ loseFirstSamAfterWake: true });
  bench.connect(path, sim);
  const transport = new SerialPortTransport({ path, binding: bench.binding });
  return {
    transport,
    sim,
    unplug: async () => bench.unplug(path),
    replug: async () => bench.replug(path),
    dispose: async () => {
      sim.cancelOutput();
      await transport.close();
    },
  };
}

pollerContract('MockBinding', mockRig);
