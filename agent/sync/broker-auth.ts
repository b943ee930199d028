// Broker security (docs/sync-protocol.md 6): who may connect and which topics each may use,
// derived from the ledger's node list, written as Mosquitto's password and ACL files, and
// enforced by the embedded broker from the very same model.
//
// Passwords are derived, never stored in the ledger: password(name) = base64url(HMAC-SHA256(
// broker secret, "gdo mqtt password v1" 0 org-hex 0 name)). The hub (or the provisioning
// person) holds the broker secret; provisioning writes each device's password into its
// bootstrap; the broker files can be regenerated at any time from the ledger alone.
import { createHmac, pbkdf2Sync, randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { KeyRecord } from '../ledger/dapp.ts';
import { NODE_NAME_RE, Topics, checkNodeName, orgHex } from './topics.ts';

export type AclAccess = 'read' | 'write' | 'readwrite';
export interface AclRule { access: AclAccess; topic: string }

export interface BrokerUser {
  name: string;
  kind: 'node' | 'enrolling' | 'operator';
  /** Mosquitto password hash: $7$iterations$salt$hash (PBKDF2-HMAC-SHA512); null without the secret. */
  passwordHash: string | null;
  rules: AclRule[];
}

export interface BrokerAccess {
  org: string;
  users: BrokerUser[];
  /**
   * Accounts not listed, looked up by name when a client connects (the embedded broker only; Mosquitto
   * needs every name in its file): see AccessOptions.anyEnrolling.
   */
  lookup?: (name: string) => BrokerUser | null;
}

/** What the access model needs from a ledger: its state reader. */
export interface StateSource {
  orgId: Buffer | null;
  scan<T = unknown>(prefix: string): Array<[string, T]>;
  get<T = unknown>(key: string): T | undefined;
}

export interface AccessOptions {
  /** The broker secret (at least 16 bytes); without it the users get rules but no password hashes. */
  secret?: Buffer;
  /** People's tools that collect enrolment requests (gdo node approve). */
  operators?: readonly string[];
  /** Names provisioned but not yet enrolled: they may only publish their enrolment request. */
  enrolling?: readonly string[];
  /**
   * Every other node name counts as enrolling, without being listed (needs the secret): a password derived
   * from the secret is what provisioning gives a device, so holding one is being provisioned. Names whose
   * current key is revoked are excepted: a revoked node has no account at all (6.1). For the embedded
   * broker (BrokerAccess.lookup); the files for Mosquitto list names.
   */
  anyEnrolling?: boolean;
  /** PBKDF2 iterations in the $7$ hashes. Default 101, as mosquitto_passwd writes. */
  iterations?: number;
}

export const PASSWORD_DOMAIN = 'gdo mqtt password v1';
const SALT_DOMAIN = 'gdo mqtt salt v1';
export const MIN_SECRET_BYTES = 16;

/** A new broker secret as its file holds it: 32 random bytes in hex, one line (`gdo broker secret`, `gdo init`). */
export function newBrokerSecretText(): string {
  return `${randomBytes(32).toString('hex')}\n`;
}

/** The broker secret as `gdo broker secret` writes it: hex digits, at least MIN_SECRET_BYTES, one line. */
export function parseBrokerSecret(text: string): Buffer {
  const t = text.trim();
  if (!/^([0-9a-f]{2})+$/i.test(t) || t.length < 2 * MIN_SECRET_BYTES) {
    throw new Error(`a broker secret is at least ${MIN_SECRET_BYTES} bytes written as hex digits (make one with 'gdo broker secret --out FILE')`);
  }
  return Buffer.from(t, 'hex');
}

function checkSecret(secret: Buffer): void {
  if (!Buffer.isBuffer(secret) || secret.length < MIN_SECRET_BYTES) {
    throw new TypeError(`the broker secret must be at least ${MIN_SECRET_BYTES} bytes, got ${Buffer.isBuffer(secret) ? secret.length : typeof secret}`);
  }
}

/** The MQTT password of `name` in org `orgId` (what provisioning puts in the device's bootstrap). */
export function derivePassword(secret: Buffer, orgId: Buffer | string, name: string): string {
  checkSecret(secret);
  return createHmac('sha256', secret).update(`${PASSWORD_DOMAIN}\0${orgHex(orgId)}\0${checkNodeName(name, 'user name')}`).digest('base64url');
}

/**
 * Mosquitto's password hash, as mosquitto_passwd writes it: $7$<iterations>$<salt, base64>$
 * <PBKDF2-HMAC-SHA512(password, salt, iterations, 64 bytes), base64>, with a 12-byte salt.
 */
export function hashPassword(password: string, salt: Buffer, iterations = 101): string {
  if (salt.length !== 12) throw new RangeError(`a mosquitto salt is 12 bytes, got ${salt.length}`);
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError(`iterations must be a positive integer, got ${iterations}`);
  const hash = pbkdf2Sync(Buffer.from(password, 'utf8'), salt, iterations, 64, 'sha512');
  return `$7$${iterations}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Checks a password against a $7$ (PBKDF2-SHA512) or $6$ (salted SHA-512) Mosquitto hash. */
export function verifyPassword(password: string, stored: string): boolean {
  const p = stored.split('$');
  try {
    if (p.length === 5 && p[0] === '' && p[1] === '7') {
      const iterations = Number(p[2]);
      if (!Number.isInteger(iterations) || iterations < 1 || iterations > 1_000_000) return false;
      const want = Buffer.from(p[4]!, 'base64');
      const got = pbkdf2Sync(Buffer.from(password, 'utf8'), Buffer.from(p[3]!, 'base64'), iterations, want.length || 64, 'sha512');
      return want.length === got.length && timingSafeEqual(want, got);
    }
    if (p.length === 4 && p[0] === '' && p[1] === '6') {
      const want = Buffer.from(p[3]!, 'base64');
      const got = createHash('sha512').update(Buffer.from(password, 'utf8')).update(Buffer.from(p[2]!, 'base64')).digest();
      return want.length === got.length && timingSafeEqual(want, got);
    }
  } catch {
    return false;
  }
  return false;
}

/** Topics a user may use (docs/sync-protocol.md 6.2): write only under its own names. */
export function rulesFor(org: string, name: string, kind: BrokerUser['kind'], roles: readonly string[] = []): AclRule[] {
  const t = new Topics(org);
  const root = t.root;
  const enrol: AclRule = { access: 'write', topic: t.enrol(name) };
  switch (kind) {
    case 'enrolling':
      return [enrol];
    case 'operator':
      // An office tool: collects enrolment requests, and syncs the admin's ledger like a node, under its
      // own name (what an admin signs must reach the site; every event is checked on ingest anyway).
      return [...peerRules(root, name), { access: 'read', topic: t.enrolWildcard() }];
    case 'node': {
      const rules: AclRule[] = [...peerRules(root, name), enrol];
      if (roles.includes('hub')) rules.push({ access: 'read', topic: t.enrolWildcard() });
      return rules;
    }
  }
}

/**
 * What a sync peer needs (docs/sync-protocol.md 2): write its own presence, events and mail to peers, read
 * presence, events and its mail. Only the topics the protocol has, not its whole subtree: every topic a
 * node may write can hold a retained message on Mosquitto, which cannot refuse the retain flag per topic (6.7).
 */
function peerRules(root: string, name: string): AclRule[] {
  return [
    { access: 'write', topic: `${root}/node/${name}/status` },
    { access: 'write', topic: `${root}/node/${name}/events` },
    { access: 'write', topic: `${root}/node/${name}/to/+` },
    { access: 'read', topic: `${root}/node/+/status` },
    { access: 'read', topic: `${root}/node/+/events` },
    { access: 'read', topic: `${root}/node/+/to/${name}` },
  ];
}

/** The broker users of a ledger: its enrolled, unrevoked nodes, plus operators and enrolling names. */
export function accessFromLedger(state: StateSource, opts: AccessOptions): BrokerAccess {
  const secret = opts.secret;
  if (secret !== undefined) checkSecret(secret);
  if (!state.orgId) throw new Error('the ledger has no genesis yet: no organisation to make broker files for');
  const org = orgHex(state.orgId);
  const users = new Map<string, BrokerUser>();
  const user = (name: string, kind: BrokerUser['kind'], roles: readonly string[] = []): BrokerUser => {
    // The salt is derived too, so regenerating the file from the same ledger gives the same bytes.
    const salt = secret && createHmac('sha256', secret).update(`${SALT_DOMAIN}\0${org}\0${name}`).digest().subarray(0, 12);
    const passwordHash = secret && salt ? hashPassword(derivePassword(secret, org, name), salt, opts.iterations) : null;
    return { name, kind, passwordHash, rules: rulesFor(org, name, kind, roles) };
  };
  const add = (name: string, kind: BrokerUser['kind'], roles: readonly string[] = []): void => { users.set(name, user(name, kind, roles)); };
  const revoked = new Set<string>();
  for (const [k, key] of state.scan<string>('org/node/')) {
    const name = k.slice('org/node/'.length);
    if (!NODE_NAME_RE.test(name)) continue;
    const rec = state.get<KeyRecord>(`org/key/${key}`);
    if (rec?.revoked) revoked.add(name);
    // The name's current key must be an unrevoked node key (a reused name points at its newest key).
    if (!rec || rec.kind !== 'node' || rec.revoked || rec.name !== name) continue;
    add(name, 'node', rec.roles);
  }
  for (const n of opts.enrolling ?? []) {
    checkNodeName(n, 'enrolling node name');
    if (!users.has(n)) add(n, 'enrolling');
  }
  for (const n of opts.operators ?? []) {
    checkNodeName(n, 'operator name');
    if (users.has(n)) throw new Error(`operator name '${n}' is already a node name; pick another`);
    add(n, 'operator');
  }
  const out: BrokerAccess = { org, users: [...users.values()].sort((a, b) => a.name.localeCompare(b.name)) };
  if (opts.anyEnrolling) {
    if (!secret) throw new Error('anyEnrolling needs the broker secret: passwords of names not listed are derived from it');
    out.lookup = (name) => (NODE_NAME_RE.test(name) && !users.has(name) && !revoked.has(name) ? user(name, 'enrolling') : null);
  }
  return out;
}

const HEADER = '# Generated by `gdo broker` from the ledger; regenerate instead of editing.';

/** Mosquitto password_file: one `name:hash` line per user. */
export function formatPasswordFile(a: BrokerAccess): string {
  const missing = a.users.find((u) => u.passwordHash === null);
  if (missing) throw new Error(`no password hash for '${missing.name}': build the access model with the broker secret`);
  return `${a.users.map((u) => `${u.name}:${u.passwordHash}`).join('\n')}\n`;
}

/** Mosquitto acl_file: a `user` block per user with its `topic` lines; nothing for anonymous clients. */
export function formatAclFile(a: BrokerAccess): string {
  const blocks = a.users.map((u) => [`# ${u.kind}`, `user ${u.name}`, ...u.rules.map((r) => `topic ${r.access} ${r.topic}`)].join('\n'));
  return `${HEADER}\n# org ${a.org}\n\n${blocks.join('\n\n')}\n`;
}

/** Reads a password file back (name -> hash); blank lines and # comments are skipped. */
export function parsePasswordFile(text: string): Map<string, string> {
  const out = new Map<string, string>();
  text.split('\n').forEach((line, i) => {
    const l = line.trim();
    if (!l || l.startsWith('#')) return;
    const at = l.indexOf(':');
    if (at <= 0) throw new Error(`password file line ${i + 1}: expected name:hash`);
    out.set(l.slice(0, at), l.slice(at + 1));
  });
  return out;
}

/** Reads an ACL file back (user -> rules); only `user` and `topic` lines are understood. */
export function parseAclFile(text: string): Map<string, AclRule[]> {
  const out = new Map<string, AclRule[]>();
  let user: string | null = null;
  text.split('\n').forEach((line, i) => {
    const l = line.trim();
    if (!l || l.startsWith('#')) return;
    const [word, ...rest] = l.split(/\s+/);
    if (word === 'user' && rest.length === 1) {
      user = rest[0]!;
      if (!out.has(user)) out.set(user, []);
      return;
    }
    if (word === 'topic' && user !== null) {
      const [a, t] = rest.length === 1 ? ['readwrite', rest[0]] : rest;
      if ((a === 'read' || a === 'write' || a === 'readwrite') && t && rest.length <= 2) {
        out.get(user)!.push({ access: a, topic: t });
        return;
      }
    }
    throw new Error(`acl file line ${i + 1}: not understood: ${JSON.stringify(l)}`);
  });
  return out;
}

/** The model from a pair of files (for `broker: embedded` with files made elsewhere). */
export function accessFromFiles(org: string, passwordFile: string, aclFile: string): BrokerAccess {
  const hashes = parsePasswordFile(passwordFile);
  const acl = parseAclFile(aclFile);
  return {
    org: orgHex(org),
    users: [...hashes].map(([name, passwordHash]) => ({ name, kind: 'node' as const, passwordHash, rules: acl.get(name) ?? [] })),
  };
}

/** MQTT topic filter matching (+ one level, # the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true; // the rest, including the parent level itself
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/** Whether every topic a subscription filter can match is matched by the ACL pattern. */
export function filterCovered(pattern: string, filter: string): boolean {
  const p = pattern.split('/');
  const f = filter.split('/');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '#') return true;
    if (i >= f.length) return false;
    if (f[i] === '#') return false;
    if (p[i] === '+') continue;
    if (f[i] === '+' || f[i] !== p[i]) return false;
  }
  return p.length === f.length;
}

export function mayPublish(rules: readonly AclRule[], topic: string): boolean {
  return rules.some((r) => r.access !== 'read' && topicMatches(r.topic, topic));
}

export function mayReceive(rules: readonly AclRule[], topic: string): boolean {
  return rules.some((r) => r.access !== 'write' && topicMatches(r.topic, topic));
}

export function maySubscribe(rules: readonly AclRule[], filter: string): boolean {
  return rules.some((r) => r.access !== 'write' && filterCovered(r.topic, filter));
}
