// Enrolment over MQTT (docs/sync-protocol.md 2, 6): a node that is not enrolled yet publishes
// its signed enrolment request (made by agent/enrol/request.ts; opaque here) as a retained
// message on gdo/<org>/enrol/<name>, the only topic its broker account may write; an operator
// or hub collects the retained requests. Publishing an empty payload there clears a request.
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { Topics, checkNodeName } from './topics.ts';
import type { SyncTls } from './options.ts';

export interface EnrolBrokerOptions {
  url: string;
  username?: string;
  password?: string;
  tls?: SyncTls;
  orgId: Buffer | string;
  /** How long to wait for the broker. Default 10 s. */
  connectTimeoutMs?: number;
}

/** Requests larger than this are refused both ways. */
export const MAX_ENROL_REQUEST_BYTES = 16 * 1024;

async function connect(o: EnrolBrokerOptions, clientId: string): Promise<MqttClient> {
  const opts: IClientOptions = { clientId, protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: o.connectTimeoutMs ?? 10_000 };
  if (o.username !== undefined) opts.username = o.username;
  if (o.password !== undefined) opts.password = o.password;
  if (o.tls) {
    if (o.tls.ca !== undefined) opts.ca = o.tls.ca as string | Buffer;
    if (o.tls.cert !== undefined) opts.cert = o.tls.cert;
    if (o.tls.key !== undefined) opts.key = o.tls.key;
    opts.rejectUnauthorized = o.tls.rejectUnauthorized ?? true;
    if (o.tls.servername !== undefined) opts.servername = o.tls.servername;
  }
  return mqtt.connectAsync(o.url, opts, false);
}

/** Publishes (retained, QoS 1) this node's enrolment request; resolves once the broker has it. */
export async function publishEnrolmentRequest(o: EnrolBrokerOptions & { name: string; payload: Buffer }): Promise<void> {
  const t = new Topics(o.orgId);
  checkNodeName(o.name);
  if (!Buffer.isBuffer(o.payload)) throw new TypeError('enrolment request payload must be a Buffer');
  if (o.payload.length > MAX_ENROL_REQUEST_BYTES) throw new RangeError(`enrolment request of ${o.payload.length} bytes, at most ${MAX_ENROL_REQUEST_BYTES}`);
  const client = await connect(o, `gdo-enrol-${o.name}`);
  const topic = t.enrol(o.name);
  try {
    // A broker that refuses the publish may simply drop the connection (aedes does): say so.
    await new Promise<void>((resolve, reject) => {
      const refused = (): void => reject(new Error(`the broker dropped the connection while publishing on ${topic}: is this user allowed to write there?`));
      const timer = setTimeout(() => { client.off('close', refused); reject(new Error(`no acknowledgement for ${topic} within ${o.connectTimeoutMs ?? 10_000} ms`)); }, o.connectTimeoutMs ?? 10_000);
      client.once('close', refused);
      client.publish(topic, o.payload, { qos: 1, retain: true }, (err) => {
        clearTimeout(timer);
        client.off('close', refused);
        if (err) reject(err);
        else resolve();
      });
    });
  } finally {
    await client.endAsync(!client.connected);
  }
}

/** Clears this node's retained request (after it is enrolled). */
export async function clearEnrolmentRequest(o: EnrolBrokerOptions & { name: string }): Promise<void> {
  await publishEnrolmentRequest({ ...o, payload: Buffer.alloc(0) });
}

/**
 * The retained enrolment requests of the org: waits `waitMs` after subscribing for them to
 * arrive. Names that are not node names and oversized payloads are skipped; the newest
 * request per name wins.
 */
export async function collectEnrolmentRequests(o: EnrolBrokerOptions & { waitMs?: number }): Promise<Array<{ name: string; payload: Buffer }>> {
  const t = new Topics(o.orgId);
  const client = await connect(o, `gdo-enrol-collect-${process.pid}-${Date.now().toString(36)}`);
  const found = new Map<string, Buffer>();
  try {
    client.on('message', (topic, payload) => {
      const p = t.parse(topic);
      if (!p || p.kind !== 'enrol') return;
      if (payload.length === 0 || payload.length > MAX_ENROL_REQUEST_BYTES) found.delete(p.from);
      else found.set(p.from, Buffer.from(payload));
    });
    const refused = new Error(`the broker refused a subscription to ${t.enrolWildcard()} (check this user's ACL)`);
    const granted = await client.subscribeAsync(t.enrolWildcard(), { qos: 1 }).catch(() => { throw refused; });
    if (granted.some((g) => g.qos === 128)) throw refused;
    await new Promise((r) => setTimeout(r, o.waitMs ?? 1000));
  } finally {
    await client.endAsync();
  }
  return [...found].sort(([a], [b]) => a.localeCompare(b)).map(([name, payload]) => ({ name, payload }));
}
