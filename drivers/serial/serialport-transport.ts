// ByteTransport over the `serialport` stream. The binding is injectable: the real one (default,
// /dev/ttyAMA0, /dev/ttyS0, a USB adapter or a pty) or a mock one for tests (see mock-bench.ts).
import { SerialPort } from 'serialport';
import { SerialPortStream } from '@serialport/stream';
import { Listeners, type ByteTransport } from './transport.ts';

/** serialport's BindingInterface (its own package has no ESM typings, so derive it from the stream). */
export type SerialBinding = ConstructorParameters<typeof SerialPortStream>[0]['binding'];

export interface SerialPortTransportOptions {
  path: string;
  /** PN532 HSU runs at 115200 8N1 after reset. */
  baudRate?: number;
  /** Defaults to serialport's auto-detected native binding. */
  binding?: SerialBinding;
}

export class SerialPortTransport implements ByteTransport {
  readonly path: string;
  private readonly baudRate: number;
  private readonly binding: SerialBinding;
  private port: SerialPortStream | undefined;
  private readonly dataListeners = new Listeners<[Buffer]>();
  private readonly closeListeners = new Listeners<[Error | undefined]>();

  constructor(options: SerialPortTransportOptions) {
    this.path = options.path;
    this.baudRate = options.baudRate ?? 115200;
    this.binding = options.binding ?? SerialPort.binding;
  }

  get isOpen(): boolean {
    return this.port?.isOpen === true;
  }

  async open(): Promise<void> {
    if (this.port) return;
    const port = new SerialPortStream({ binding: this.binding, path: this.path, baudRate: this.baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
    port.on('data', (chunk: Buffer) => this.dataListeners.call(chunk));
    // An 'error' listener keeps a failed write from becoming an uncaught exception; the write
    // promise already reports it.
    port.on('error', () => undefined);
    port.on('close', (err: Error | null) => {
      if (this.port !== port) return;
      this.port = undefined;
      this.closeListeners.call(err ?? undefined);
    });
    this.port = port;
  }

  async close(): Promise<void> {
    const port = this.port;
    if (!port) return;
    this.port = undefined;
    if (port.isOpen) {
      await new Promise<void>((resolve) => port.close(() => resolve()));
    }
    this.closeListeners.call(undefined);
  }

  write(data: Buffer): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) return Promise.reject(new Error(`serial port ${this.path} is not open`));
    return new Promise((resolve, reject) => {
      port.write(data, (err) => (err ? reject(err) : resolve()));
    });
  }

  onData(listener: (chunk: Buffer) => void): () => void {
    return this.dataListeners.add(listener);
  }

  onClose(listener: (err?: Error) => void): () => void {
    return this.closeListeners.add(listener);
  }
}
