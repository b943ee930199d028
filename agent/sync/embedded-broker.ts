// The broker a single-site install can run inside its agent (`broker: embedded`), on aedes.
// With an access model it enforces what Mosquitto enforces from the generated files: users
// and passwords ($7$ hashes), and per-user read/write topic rules (docs/sync-protocol.md 6).
// With a certificate it speaks MQTT over TLS (docs/sync-protocol.md 6.6): a hub's listener faces the
// site's network; plain TCP is for loopback tests and sites that say so (sync.allow_plain).
// In front of aedes, agent/sync/mqtt-guard.ts bounds packet sizes, connections and the time to log in;
// client ids are bound to accounts and retained messages to the topics that need them (6.7).
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type TLSSocket } from 'node:tls';
import type { Duplex } from 'node:stream';
import { Aedes, type AedesOptions, type Client } from 'aedes';
import { type BrokerAccess, type BrokerUser, mayPublish, mayReceive, maySubscribe, verifyPassword } from './broker-auth.ts';
import { ConnectionGuard, type GuardLimits } from './mqtt-guard.ts';
import { Topics } from './topics.ts';

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
  /** Packet sizes, connection counts and the login timeout (agent/sync/mqtt-guard.ts); defaults there. */
  limits?: Partial<GuardLimits>;
  /** Largest retained message, on the topics that may hold one (docs/sync-protocol.md 6.7). Default 64 KiB. */
  maxRetainedBytes?: number;
}

export interface EmbeddedBroker {
  host: string;
  port: number;
  url: string;
  /** Replaces the access model; connected clients whose user is gone are disconnected, the others get their new rules. */
  setAccess(access: BrokerAccess): void;
  /** Connections open now, and those not logged in yet. */
  connections(): { open: number; pending: number };
  /** Closes every client connection and the listener. Safe to call twice. */
  stop(): Promise<void>;
}

const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;

export async function startEmbeddedBroker(opts: EmbeddedBrokerOptions = {}): Promise<EmbeddedBroker> {
  const host = opts.host ?? '127.0.0.1';
  const maxPayload = opts.maxPayloadBytes ?? 1024 * 1024 + 4096;
  let access: Users | null = opts.authenticate ? toUsers(opts.authenticate) : null;
  let org = opts.authenticate?.org ?? '';
  const userOf = new WeakMap<Client, BrokerUser>();
  const rulesOf = (client: Client | null): BrokerUser | null | undefined => (client ? userOf.get(client) : undefined);
  const maxRetained = opts.maxRetainedBytes ?? 64 * 1024;
  const guard = new ConnectionGuard(opts.limits);
  const socketOf = new WeakMap<Duplex, Socket>();
  const loggedIn = (client: Client): void => {
    const sock = socketOf.get((client as unknown as { conn: Duplex }).conn);
    if (sock) guard.loggedIn(sock);
  };
  const clients = (): Record<string, Client> => (aedes as unknown as { clients: Record<string, Client> }).clients ?? {};

  const aedesOpts: AedesOptions = {
    authenticate(client, username, password, done) {
      if (!access) { loggedIn(client); done(null, true); return; }
      const u = username !== undefined ? access.find(username) : undefined;
      if (!u || !password || u.passwordHash === null || !verifyPassword(password.toString('utf8'), u.passwordHash)) {
        done(Object.assign(new Error('bad user name or password'), { returnCode: BAD_USERNAME_OR_PASSWORD }), false);
        return;
      }
      // A client id names one account's connection (6.7): another account using it would take that
      // connection over (MQTT 3.1.1 §3.1.4 has the server drop the old one), so the newcomer is refused.
      const holder = clients()[client.id];
      const holderUser = holder && holder !== client ? userOf.get(holder) : undefined;
      if (holder && holder !== client && holderUser?.name !== u.name) {
        done(Object.assign(new Error('client id in use by another account'), { returnCode: IDENTIFIER_REJECTED }), false);
        return;
      }
      userOf.set(client, u);
      loggedIn(client);
      done(null, true);
    },
    authorizePublish(client, packet, done) {
      if (packet.payload && packet.payload.length > maxPayload) { done(new Error(`payload of ${packet.payload.length} bytes, limit ${maxPayload}`)); return; }
      if (!access || !client) { done(null); return; }
      const u = rulesOf(client);
      if (!u || !mayPublish(u.rules, packet.topic)) { done(new Error(`not authorised to publish on ${packet.topic}`)); return; }
      // Retained only where the protocol keeps one message per name (6.7): the presence status and the
      // enrolment request, each bounded. Elsewhere the message is delivered but not kept; an empty one
      // (which clears) is fine anywhere the account may write.
      if (packet.retain && packet.payload.length > 0) {
        const t = new Topics(org);
        if (packet.topic !== t.status(u.name) && packet.topic !== t.enrol(u.name)) packet.retain = false;
        else if (packet.payload.length > maxRetained) { done(new Error(`retained message of ${packet.payload.length} bytes, limit ${maxRetained}`)); return; }
      }
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
  const track = (sock: Socket): void => {
    sockets.add(sock);
    sock.once('close', () => sockets.delete(sock));
  };
  const serve = (sock: Socket | TLSSocket): void => {
    track(sock);
    const stream = guard.wrap(sock);
    socketOf.set(stream, sock);
    aedes.handle(stream);
  };
  // TLS 1.2 at least (RFC 8996 retires 1.0 and 1.1); node's defaults choose the suites. A client that fails
  // the handshake (wrong CA, plain TCP) is dropped by tls before aedes sees a byte. Every connection is
  // admitted by the guard at TCP accept, before a handshake or an MQTT byte (6.7).
  const server: Server = opts.tls
    ? createTlsServer({ cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2', handshakeTimeout: guard.limits.connectTimeoutMs })
    : createServer();
  server.on('connection', (raw: Socket) => {
    if (!guard.admit(raw)) return;
    if (opts.tls) track(raw); // still in its handshake, not aedes's yet: stop() must be able to cut it too
    else serve(raw);
  });
  if (opts.tls) {
    server.on('secureConnection', serve);
    server.on('tlsClientError', (_err, sock) => { sock.destroy(); });
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
      org = a.org;
      for (const [, c] of Object.entries(clients())) {
        const u = userOf.get(c);
        // A name that became a node gets its rules at once; one that lost its account (revoked) is cut off.
        const now = u ? next.find(u.name) : undefined;
        if (u && now) userOf.set(c, now);
        else if (u) c.close();
      }
    },
    connections: () => guard.counts(),
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
