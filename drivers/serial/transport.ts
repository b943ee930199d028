// The byte-moving interface every PN532 transport implements (UART via serialport, the MockBinding
// bench, a pipe to the simulator). Protocol logic lives above it; see docs/design-notes.md habit 1.

export interface ByteTransport {
  readonly isOpen: boolean;
  open(): Promise<void>;
  close(): Promise<void>;
  write(data: Buffer): Promise<void>;
  /** Listens for received bytes; listeners survive close/open cycles. Returns an unsubscribe function. */
  onData(listener: (chunk: Buffer) => void): () => void;
  /** Called when the port closes: `err` is set when it went away on its own (unplugged, socat killed). */
  onClose(listener: (err?: Error) => void): () => void;
}

/** Small listener list helper shared by transports. */
export class Listeners<A extends unknown[]> {
  private readonly list = new Set<(...args: A) => void>();

  add(fn: (...args: A) => void): () => void {
    this.list.add(fn);
    return () => this.list.delete(fn);
  }

  call(...args: A): void {
    for (const fn of [...this.list]) fn(...args);
  }
}
