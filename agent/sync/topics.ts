// The MQTT topic tree (docs/sync-protocol.md 2). Everything a node publishes lies under its
// own gdo/<org>/node/<name>/ subtree (plus its enrolment topic), so a broker ACL can let each
// node write only there.
export const NODE_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const ORG_HEX_RE = /^[0-9a-f]{64}$/;

export type ParsedTopic =
  | { kind: 'status'; from: string }
  | { kind: 'events'; from: string }
  | { kind: 'direct'; from: string; to: string }
  | { kind: 'enrol'; from: string };

export function checkNodeName(name: string, what = 'node name'): string {
  if (typeof name !== 'string' || !NODE_NAME_RE.test(name)) {
    throw new TypeError(`${what} must be 1-63 characters of a-z, 0-9 and '-', starting with a letter or digit, got ${JSON.stringify(name)}`);
  }
  return name;
}

export function orgHex(orgId: Buffer | string): string {
  const hex = typeof orgId === 'string' ? orgId.toLowerCase() : orgId.toString('hex');
  if (!ORG_HEX_RE.test(hex)) throw new TypeError(`org id must be 32 bytes (64 hex digits), got ${JSON.stringify(typeof orgId === 'string' ? orgId : `${orgId.length} bytes`)}`);
  return hex;
}

export class Topics {
  readonly root: string;

  constructor(orgId: Buffer | string) {
    this.root = `gdo/${orgHex(orgId)}`;
  }

  status(name: string): string { return `${this.root}/node/${name}/status`; }
  events(name: string): string { return `${this.root}/node/${name}/events`; }
  direct(from: string, to: string): string { return `${this.root}/node/${from}/to/${to}`; }
  enrol(name: string): string { return `${this.root}/enrol/${name}`; }
  /** What a node subscribes to: every presence and event stream, and messages addressed to it. */
  subscriptions(me: string): string[] {
    return [`${this.root}/node/+/status`, `${this.root}/node/+/events`, `${this.root}/node/+/to/${me}`];
  }
  enrolWildcard(): string { return `${this.root}/enrol/+`; }

  /** Parses a topic of this org; null for anything else (other orgs, bad names, extra levels). */
  parse(topic: string): ParsedTopic | null {
    if (!topic.startsWith(`${this.root}/`)) return null;
    const parts = topic.slice(this.root.length + 1).split('/');
    const name = parts[1];
    if (name === undefined || !NODE_NAME_RE.test(name)) return null;
    if (parts[0] === 'enrol' && parts.length === 2) return { kind: 'enrol', from: name };
    if (parts[0] !== 'node') return null;
    if (parts.length === 3 && parts[2] === 'status') return { kind: 'status', from: name };
    if (parts.length === 3 && parts[2] === 'events') return { kind: 'events', from: name };
    if (parts.length === 4 && parts[2] === 'to' && NODE_NAME_RE.test(parts[3]!)) return { kind: 'direct', from: name, to: parts[3]! };
    return null;
  }
}
