// The local status endpoint: GET /health, /status (JSON) and /metrics (Prometheus text), loopback by
// default. On a simulated node (fake GPIO, simulated readers) it also takes the simulated site's hands:
// POST /sim/readers/<id>/card {"uid": "<hex>"} (DELETE removes it) and POST /sim/gpio/<line> {"level": 0|1}.
// Those answer only to loopback clients, whatever the listen address.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Part, PartHealth } from './supervisor.ts';

export interface StatusSource {
  health(): { ok: boolean; body: Record<string, unknown> };
  status(): Record<string, unknown>;
  metrics(): string;
  sim: SimControl | undefined;
}

/** What the simulated site can do to a simulated node. Errors are thrown as SimError (400/404). */
export interface SimControl {
  presentCard(reader: string, uid: Buffer): void;
  removeCard(reader: string): void;
  driveInput(line: number, level: 0 | 1): void;
}

export class SimError extends Error {
  constructor(readonly status: 400 | 404, message: string) {
    super(message);
  }
}

const MAX_BODY = 4096;

export function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(':');
  return { host: listen.slice(0, i).replace(/^\[(.*)\]$/, '$1'), port: Number(listen.slice(i + 1)) };
}

export class HttpPart implements Part {
  readonly name = 'http';
  readonly #listen: { host: string; port: number };
  readonly #src: StatusSource;
  #server: Server | undefined;
  #address: AddressInfo | undefined;
  #report: ((err: unknown) => void) | undefined;
  requests = 0;

  constructor(listen: string, src: StatusSource) {
    this.#listen = parseListen(listen);
    this.#src = src;
  }

  /** Where it listens, once started (the port when 0 was asked for). */
  get address(): AddressInfo | undefined { return this.#address; }

  async start(report: (err: unknown) => void): Promise<void> {
    this.#report = report;
    const server = createServer((req, res) => this.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.#listen.port, this.#listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    server.on('error', (err) => this.#report?.(err));
    this.#server = server;
    this.#address = server.address() as AddressInfo;
  }

  async stop(): Promise<void> {
    const s = this.#server;
    this.#server = undefined;
    this.#address = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  health(): PartHealth {
    return this.#server?.listening ? { state: 'ok' } : { state: 'failed', detail: 'not listening' };
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests += 1;
    const url = new URL(req.url ?? '/', 'http://agent');
    const path = url.pathname;
    try {
      if (req.method === 'GET' && path === '/health') {
        const h = this.#src.health();
        return json(res, h.ok ? 200 : 503, h.body);
      }
      if (req.method === 'GET' && path === '/status') return json(res, 200, this.#src.status());
      if (req.method === 'GET' && path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(this.#src.metrics());
        return;
      }
      if (path.startsWith('/sim/')) {
        this.#sim(req, res, path);
        return;
      }
      json(res, 404, { error: `no such endpoint: ${req.method} ${path} (have GET /health, /status, /metrics)` });
    } catch (err) {
      json(res, 500, { error: (err as Error).message });
    }
  }

  #sim(req: IncomingMessage, res: ServerResponse, path: string): void {
    const sim = this.#src.sim;
    if (!sim) return json(res, 404, { error: 'this node has no simulated hardware' });
    if (!isLoopback(req.socket.remoteAddress)) return json(res, 403, { error: 'simulated hardware answers loopback clients only' });
    let body = '';
    let tooBig = false;
    req.on('data', (c: Buffer) => {
      body += c.toString();
      if (body.length > MAX_BODY) tooBig = true;
    });
    req.on('end', () => {
      if (tooBig) return json(res, 413, { error: `body over ${MAX_BODY} bytes` });
      try {
        const data = body === '' ? {} : (JSON.parse(body) as Record<string, unknown>);
        const card = /^\/sim\/readers\/([^/]+)\/card$/.exec(path);
        const gpio = /^\/sim\/gpio\/(\d+)$/.exec(path);
        if (card && req.method === 'POST') {
          const uid = typeof data['uid'] === 'string' && /^([0-9a-fA-F]{8}|[0-9a-fA-F]{14}|[0-9a-fA-F]{20})$/.test(data['uid']) ? data['uid'] : undefined;
          if (!uid) throw new SimError(400, 'uid must be 4, 7 or 10 bytes of hex');
          sim.presentCard(decodeURIComponent(card[1]!), Buffer.from(uid, 'hex'));
        } else if (card && req.method === 'DELETE') {
          sim.removeCard(decodeURIComponent(card[1]!));
        } else if (gpio && req.method === 'POST') {
          const level = data['level'];
          if (level !== 0 && level !== 1) throw new SimError(400, 'level must be 0 or 1');
          sim.driveInput(Number(gpio[1]), level);
        } else {
          throw new SimError(404, `no such endpoint: ${req.method} ${path}`);
        }
        json(res, 200, { ok: true });
      } catch (err) {
        json(res, err instanceof SimError ? err.status : 400, { error: (err as Error).message });
      }
    });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(`${JSON.stringify(body)}\n`);
}

function isLoopback(addr: string | undefined): boolean {
  return addr === '127.0.0.1' || addr === '::1' || addr === '::ffff:127.0.0.1';
}
