// The broker a single-site install can run inside its agent (`broker: embedded`), on aedes.
// With an access model it enforces what Mosquitto enforces from the generated files: users
// and passwords ($7$ hashes), and per-user read/write topic rules (docs/sync-protocol.md 6).
// With a certificate it speaks MQTT over TLS (docs/sync-protocol.md 6.6): a hub's listener faces the
// site's network; plain TCP is for loopback tests and sites that say so (sync.allow_plain).
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import { Aedes, type AedesOptions, type Client } from 'aedes';
import { type BrokerAccess, type BrokerUser, mayPublish, mayReceive, maySubscribe, verifyPassword } from './broker-auth.ts';

export interface EmbeddedBrokerOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 1883; 0 picks a free port. */
  port?: number;
  /** Users and topic rules; without it any client may connect and use any topic. */
  authenticate?: BrokerAccess;
  /** Publishes with a larger payload are refused. Default 1 MiB + 4 KiB (sync's maxMessageBytes plus room). */
  maxPayloadBytes?: number;
  /** PEM server certificate (chain) and key: MQTT over TLS (mqtts://); without it plain TCP (mqtt://). */
  tls?: { cert: string | Buffer; key: string | Buffer };
}

export interface EmbeddedBroker {
  host: string;
  port: number;
  url: string;
  /** Replaces the access model; connected clients whose user is gone are disconnected, the others get their new rules. */
  setAccess(access: BrokerAccess): void;
  /** Closes every client connection and the listener. Safe to call twice. */
  stop(): Promise<void>;
}

const BAD_USERNAME_OR_PASSWORD = 4;

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1';
  const maxPayload = opts.maxPayloadBytes ?? 1024 * 1024 + 4096;
  let access: Users | null = opts.authenticate ? toUsers(opts.authenticate) : null;
  const userOf = new WeakMap<Client, BrokerUser>();
  const rulesOf = (client: Client | null): BrokerUser | null | undefined => (client ? userOf.get(client) : undefined);

  const aedesOpts: AedesOptions = {
    authenticate(client, username, password, done) {
      if (!access) { done(null, true); return; }
      const u = username !== undefined ? access.find(username) : undefined;
      if (!u || !password || u.passwordHash === null || !verifyPassword(password.toString('utf8'), u.passwordHash)) {
        done(Object.assign(new Error('bad user name or password'), { returnCode: BAD_USERNAME_OR_PASSWORD }), false);
        return;
      }
      userOf.set(client, u);
      done(null, true);
    },
    authorizePublish(client, packet, done) {
      if (packet.payload && packet.payload.length > maxPayload) { done(new Error(`payload of ${packet.payload.length} bytes, limit ${maxPayload}`)); return; }
      if (!access || !client) { done(null); return; }
      const u = rulesOf(client);
      if (!u || !mayPublish(u.rules, packet.topic)) { done(new Error(`not authorised to publish on ${packet.topic}`)); return; }
      done(null);
    },
    authorizeSubscribe(client, sub, done) {
      if (!access) { done(null, sub); return; }
      const u = rulesOf(client);
      // A refused filter is granted as null (SUBACK failure), as Mosquitto does.
      done(null, u && maySubscribe(u.rules, sub.topic) ? sub : null);
    },
    authorizeForward(client, packet) {
      if (!access) return packet;
      const u = rulesOf(client);
      return u && mayReceive(u.rules, packet.topic) ? packet : null;
    },
  };
  const aedes = await Aedes.createBroker(aedesOpts);
  const sockets = new Set<Socket>();
  const serve = (sock: Socket | TLSSocket): void => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
    aedes.handle(sock);
  };
  // TLS 1.2 at least (RFC 8996 retires 1.0 and 1.1); node's defaults choose the suites. A client that fails
  // the handshake (wrong CA, plain TCP) is dropped by tls before aedes sees a byte.
  const server: Server = opts.tls
    ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2' }, serve)
    : createServer(serve);
  if (opts.tls) {
    server.on('tlsClientError', (_err, sock) => { sock.destroy(); });
    // A client still in its handshake is not aedes's yet; stop() must be able to cut it too.
    server.on('connection', (raw: Socket) => {
      sockets.add(raw);
      raw.once('close', () => sockets.delete(raw));
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 1883, host, () => { server.off('error', reject); resolve(); });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  let stopped: Promise<void> | null = null;
  return {
    host,
    port,
    url: `${opts.tls ? 'mqtts' : 'mqtt'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    setAccess(a) {
      const next = toUsers(a);
      access = next;
      for (const [, c] of Object.entries((aedes as unknown as { clients: Record<string, Client> }).clients ?? {})) {
        const u = userOf.get(c);
        // A name that became a node gets its rules at once; one that lost its account (revoked) is cut off.
        const now = u ? next.find(u.name) : undefined;
        if (u && now) userOf.set(c, now);
        else if (u) c.close();
      }
    },
    stop() {
      stopped ??= (async () => {
        await new Promise<void>((r) => { aedes.close(() => r()); });
        for (const s of sockets) s.destroy();
        await new Promise<void>((r) => { server.close(() => r()); });
      })();
      return stopped;
    },
  };
}

interface Users { find(name: string): BrokerUser | undefined }

function toUsers(a: BrokerAccess): Users {
  const listed = new Map(a.users.map((u) => [u.name, u]));
  return { find: (name) => listed.get(name) ?? a.lookup?.(name) ?? undefined };
}
