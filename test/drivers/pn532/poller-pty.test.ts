// Poller + driver against the simulator on the far end of a real pseudo-terminal pair (socat), both
// ends opened with serialport's native binding. Killing socat is the unplugged USB adapter.
import { test } from 'node:test';
import { Pn532Simulator } from '../../../drivers/pn532/simulator.ts';
import { SerialPortTransport } from '../../../drivers/serial/serialport-transport.ts';
import { socatAvailable, startPtyPair } from './helpers.ts';
import { pollerContract, type Rig } from './poller-contract.ts';

async function ptyRig(): Promise<Rig> {
  const pair = await startPtyPair();
  const sim = new Pn532Simulator({ loseFirstSamAfterWake: true });
  let simSide: SerialPortTransport | undefined;
  let detach: (() => void) | undefined;
  const connectSim = async (): Promise<void> => {
    simSide = new SerialPortTransport({ path: pair.ptys[1] });
    await simSide.open();
    detach = sim.attach(simSide);
  };
  const disconnectSim = async (): Promise<void> => {
    detach?.();
    sim.cancelOutput();
    await simSide?.close();
  };
  await connectSim();
  const transport = new SerialPortTransport({ path: pair.hostLink, baudRate: 115200 });
  return {
    transport,
    sim,
    unplug: async () => {
      await pair.kill();
      await disconnectSim();
    },
    replug: async () => {
      await pair.restart();
      await connectSim();
    },
    dispose: async () => {
      await transport.close();
      await disconnectSim();
      await pair.dispose();
    },
  };
}

if (socatAvailable()) {
  pollerContract('socat pty', ptyRig);
} else {
  void test('socat pty', { skip: 'socat is not installed (apt-get install socat): pty tests skipped' }, () => undefined);
}
