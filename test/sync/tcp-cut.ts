// A TCP relay between one node and the broker that the test can cut and heal: cutting drops
// every connection at once (the broker sees an unclean disconnect and publishes the node's
// last will) and refuses new ones until healed, like a pulled network cable.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpCut {
  port: number;
  url: string;
  cut(): void;
  heal(): void;
  stop(): Promise<void>;
}

export async function startTcpCut(targetPort: number): Promise<TcpCut> {
  let cut = false;
  const live = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connect(targetPort, '127.0.0.1');
    live.add(client);
    live.add(upstream);
    const drop = (): void => {
      client.destroy();
      upstream.destroy();
      live.delete(client);
      live.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    cut() {
      cut = true;
      for (const s of live) s.destroy();
      live.clear();
    },
    heal() { cut = false; },
    async stop() {
      cut = true;
      for (const s of live) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
