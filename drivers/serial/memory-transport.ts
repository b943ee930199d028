// A ByteTransport wired straight to a simulated device (the PN532 simulator), with no port, no binding
// and no event-loop hop of its own: host writes reach the device synchronously, and device output reaches
// the host listeners when the device emits it. Used by fake-time tests (the device runs on the same fake
// clock) and by the simulated site. unplug()/replug() play the USB adapter that vanishes and comes back.
import type { ByteDevice } from './mock-bench.ts';
import { Listeners, type ByteTransport } from './transport.ts';

export class MemoryTransport implements ByteTransport {
  readonly path: string;
  private readonly device: ByteDevice;
  private readonly dataListeners = new Listeners<[Buffer]>();
  private readonly closeListeners = new Listeners<[Error | undefined]>();
  private open_ = false;
  private plugged = true;
  /** Successful open() calls, so tests can count reconnects. */
  opens = 0;
  /** open() calls refused because the device was unplugged. */
  failedOpens = 0;

  constructor(device: ByteDevice, path = 'memory:pn532') {
    this.device = device;
    this.path = path;
    device.onOutput((bytes) => {
      if (this.open_) this.dataListeners.call(Buffer.from(bytes));
    });
  }

  get isOpen(): boolean {
    return this.open_;
  }

  open(): Promise<void> {
    if (!this.plugged) {
      this.failedOpens++;
      return Promise.reject(new Error(`Error: No such file or directory, cannot open ${this.path}`));
    }
    if (!this.open_) {
      this.open_ = true;
      this.opens++;
    }
    return Promise.resolve();
  }

  close(): Promise<void> {
    if (this.open_) {
      this.open_ = false;
      this.closeListeners.call(undefined);
    }
    return Promise.resolve();
  }

  write(data: Buffer): Promise<void> {
    if (!this.open_) return Promise.reject(new Error(`${this.path} is not open`));
    this.device.receive(Buffer.from(data));
    return Promise.resolve();
  }

  onData(listener: (chunk: Buffer) => void): () => void {
    return this.dataListeners.add(listener);
  }

  onClose(listener: (err?: Error) => void): () => void {
    return this.closeListeners.add(listener);
  }

  /** The adapter disappears: the open port closes with an error, and open() fails until replug(). */
  unplug(): void {
    this.plugged = false;
    this.device.cancelOutput?.();
    if (this.open_) {
      this.open_ = false;
      this.closeListeners.call(new Error(`${this.path}: device unplugged`));
    }
  }

  replug(): void {
    this.plugged = true;
  }
}
