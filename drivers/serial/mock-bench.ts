// A test bench on serialport's MockBinding (@serialport/binding-mock): a simulated device (e.g. the
// PN532 simulator) sits behind a mock port, and the port can be unplugged and plugged back in like a
// USB-UART adapter. The driver above uses the ordinary SerialPortTransport with `bench.binding`.
import { SerialPortMock } from 'serialport';
import type { SerialBinding } from './serialport-transport.ts';

// serialport re-exports @serialport/binding-mock's MockBinding; going through it keeps the typings
// (binding-mock's own package has no ESM type entry).
const MockBinding = SerialPortMock.binding;
type MockPortBinding = Awaited<ReturnType<typeof MockBinding.open>>;

/** Anything that consumes host bytes and produces device bytes. */
export interface ByteDevice {
  receive(bytes: Buffer): void;
  onOutput(listener: (bytes: Buffer) => void): () => void;
  cancelOutput?(): void;
}

type OpenOptions = Parameters<SerialBinding['open']>[0];
type PortBinding = Awaited<ReturnType<SerialBinding['open']>>;

interface Slot {
  device: ByteDevice;
  plugged: boolean;
  port: BenchPort | undefined;
}

export class MockSerialBench {
  readonly binding: SerialBinding;
  private readonly slots = new Map<string, Slot>();

  constructor() {
    this.binding = { list: () => MockBinding.list(), open: (options: OpenOptions) => this.open(options) };
  }

  /** Creates the mock port `path` with `device` behind it. */
  connect(path: string, device: ByteDevice): void {
    MockBinding.createPort(path, { echo: false, record: false });
    const slot: Slot = { device, plugged: true, port: undefined };
    device.onOutput((bytes) => slot.port?.deliver(bytes));
    this.slots.set(path, slot);
  }

  /** The adapter disappears: the open port fails like a real disconnect and opening fails until replug. */
  unplug(path: string): void {
    const slot = this.slot(path);
    slot.plugged = false;
    slot.device.cancelOutput?.();
    slot.port?.fail(new Error(`mock bench: device ${path} unplugged`));
    slot.port = undefined;
  }

  replug(path: string): void {
    this.slot(path).plugged = true;
  }

  private slot(path: string): Slot {
    const slot = this.slots.get(path);
    if (!slot) throw new Error(`mock bench: no device at ${path}; call connect() first`);
    return slot;
  }

  private async open(options: OpenOptions): Promise<PortBinding> {
    const slot = this.slots.get(options.path);
    if (!slot?.plugged) throw new Error(`Error: No such file or directory, cannot open ${options.path}`);
    const inner = await MockBinding.open(options);
    const port = new BenchPort(inner, slot.device);
    slot.port = port;
    return port;
  }
}

/** Wraps a MockPortBinding: host writes go to the device, device output becomes received data. */
class BenchPort implements PortBinding {
  private readonly inner: MockPortBinding;
  private readonly device: ByteDevice;
  private failure: Error | undefined;
  private rejectRead: ((err: Error) => void) | undefined;

  constructor(inner: MockPortBinding, device: ByteDevice) {
    this.inner = inner;
    this.device = device;
  }

  get openOptions(): MockPortBinding['openOptions'] {
    return this.inner.openOptions;
  }

  get isOpen(): boolean {
    return this.inner.isOpen;
  }

  deliver(bytes: Buffer): void {
    if (this.inner.isOpen && !this.failure) this.inner.emitData(bytes);
  }

  /** Fails the pending and all later reads and writes with a non-cancel error: serialport sees a disconnect. */
  fail(err: Error): void {
    this.failure = err;
    this.rejectRead?.(err);
  }

  read(buffer: Buffer, offset: number, length: number): Promise<{ buffer: Buffer; bytesRead: number }> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.rejectRead = reject;
      this.inner.read(buffer, offset, length).then(resolve, reject);
    });
  }

  async write(buffer: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    await this.inner.write(buffer);
    this.device.receive(Buffer.from(buffer));
  }

  close(): Promise<void> {
    return this.inner.close();
  }
  update(options: Parameters<MockPortBinding['update']>[0]): Promise<void> {
    return this.inner.update(options);
  }
  set(options: Parameters<MockPortBinding['set']>[0]): Promise<void> {
    return this.inner.set(options);
  }
  get(): ReturnType<MockPortBinding['get']> {
    return this.inner.get();
  }
  getBaudRate(): Promise<{ baudRate: number }> {
    return this.inner.getBaudRate();
  }
  flush(): Promise<void> {
    return this.inner.flush();
  }
  drain(): Promise<void> {
    return this.inner.drain();
  }
}
