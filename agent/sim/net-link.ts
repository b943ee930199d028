// The simulated site's network: each node reaches the hub's broker through a link of its own, a TCP relay
// in the site process that can be cut and healed. Cutting drops the node's live connections and refuses
// new ones, as a pulled cable would: the agent's MQTT client notices the loss by itself, keeps deciding
// from its own replica, and reconnects once the link is back (no agent is told it is simulated).
import { createServer, connect, type Server, type Socket } from 'node:net';

export class NetLink {
  readonly name: string;
  #server: Server | undefined;
  #upstream: number | undefined;
  #up = true;
  readonly #pairs = new Set<[Socket, Socket | undefined]>();
  /** Connections that arrived before the hub's broker port was known; relayed once it is. */
  readonly #waiting: Socket[] = [];

  constructor(name: string) {
    this.name = name;
  }

  get up(): boolean { return this.#up; }

  /** Listens on a free loopback port; resolves with it. */
  async listen(): Promise<number> {
    const server = createServer((s) => this.#accept(s));
    await new Promise<void>((res, rej) => {
      server.once('error', rej);
      server.listen(0, '127.0.0.1', () => { server.off('error', rej); res(); });
    });
    this.#server = server;
    return (server.address() as { port: number }).port;
  }

  /** Where the broker listens (known once the hub has started it). */
  setUpstream(port: number): void {
    this.#upstream = port;
    for (const s of this.#waiting.splice(0)) this.#relay(s);
  }

  cut(): void {
    this.#up = false;
    for (const s of this.#waiting.splice(0)) s.destroy();
    for (const [a, b] of this.#pairs) { a.destroy(); b?.destroy(); }
    this.#pairs.clear();
  }

  heal(): void {
    this.#up = true;
  }

  async close(): Promise<void> {
    this.cut();
    const s = this.#server;
    this.#server = undefined;
    if (s) await new Promise<void>((res) => s.close(() => res()));
  }

  #accept(s: Socket): void {
    s.on('error', () => s.destroy());
    if (!this.#up) { s.destroy(); return; }
    if (this.#upstream === undefined) { this.#waiting.push(s); return; }
    this.#relay(s);
  }

  #relay(s: Socket): void {
    if (!this.#up || s.destroyed) { s.destroy(); return; }
    const b = connect(this.#upstream!, '127.0.0.1');
    const pair: [Socket, Socket | undefined] = [s, b];
    this.#pairs.add(pair);
    const end = (): void => { s.destroy(); b.destroy(); this.#pairs.delete(pair); };
    b.on('error', end);
    b.on('close', end);
    s.on('close', end);
    s.pipe(b);
    b.pipe(s);
  }
}
