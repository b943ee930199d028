// Peer sync over MQTT (agent/sync). A hub runs the embedded broker; other nodes name a broker URL.
// Every hop that crosses a network is TLS unless sync.allow_plain says otherwise (docs/sync-protocol.md 6.6).
import { isIP } from 'node:net';
import { ConfigError } from '../errors.ts';
import { c, type Node } from '../schema.ts';

export const syncSchema: Node = c.obj('Merging with the other nodes over MQTT.', {
  broker: c.str('"" for none (a standalone node), "embedded" to run a broker in this agent (a hub), or the broker\'s URL (mqtt://, mqtts://, ws://, wss://).', '',
    { pattern: /^(|embedded|(mqtts?|wss?):\/\/[^\s]+)$/, patternText: '"", "embedded" or an mqtt://, mqtts://, ws:// or wss:// URL' }),
  username: c.str('Broker user name; "" for none.', ''),
  password_file: c.str('File holding the broker password (first boot writes broker.pass, mode 0600); a secret, never logged. "" for none.', ''),
  embedded_listen: c.str('embedded only: address the broker listens on, host:port (MQTT over TLS unless tls_cert_file is "").', '0.0.0.0:8883',
    { pattern: /^[^\s:]+:\d{1,5}$/, patternText: 'host:port' }),
  tls_cert_file: c.str('embedded only: the broker\'s TLS certificate (PEM, issued by the site CA for the hub\'s names; first boot writes broker.crt from a hub\'s bootstrap, `gdo broker tls` makes one). "" for plain TCP, which needs allow_plain unless embedded_listen is a loopback address.', 'broker.crt'),
  tls_key_file: c.str('embedded only: the private key of tls_cert_file (PEM, mode 0600; first boot writes broker.key); a secret, never logged.', 'broker.key'),
  ca_file: c.str('CA certificate(s) (PEM) the broker\'s certificate must chain to: the site CA, ca.crt, which first boot writes from the bootstrap. The broker\'s name in the URL is checked against the certificate. "" for the system\'s CAs.', ''),
  mosquitto_dir: c.str('On the machine running the site\'s own Mosquitto: the directory of `gdo broker mosquitto-config --out DIR`. The agent rewrites its passwd and acl from the ledger after every approval and revocation (needs broker_secret_file; accounts for broker_operators) and sends Mosquitto SIGHUP. "" for none.', ''),
  mosquitto_pid_file: c.str('With mosquitto_dir: Mosquitto\'s pid file, whose process gets SIGHUP to reload the files. "" for the pid_file that mosquitto_dir/mosquitto.conf names (as `gdo broker mosquitto-config --pid-file` wrote it), else /run/mosquitto/mosquitto.pid.', ''),
  allow_plain: c.bool('Allow plain TCP (mqtt://, ws://) to a broker that is not on this machine, and an embedded listener without TLS on a non-loopback address. Passwords and the ledger then cross the network readable by anyone on it.', false),
  // docs/sync-protocol.md 6: the embedded broker's accounts come from the ledger and this secret.
  broker_secret_file: c.str('embedded or mosquitto_dir: the broker secret (hex, mode 0600; made by `gdo broker secret`, written by first boot from a hub\'s bootstrap). Every MQTT password derives from it; without it the hub does not run the broker. The hub\'s own sync uses a password derived from it (username and password_file are not used).',
    'broker.secret', { minLength: 1 }),
  broker_operators: c.list('embedded or mosquitto_dir: accounts for people\'s tools, such as the office laptop that collects enrolment requests (`gdo node approve --broker`) and syncs the admin\'s ledger; each one\'s password is `gdo broker password --name NAME`.',
    c.str('An operator name (a-z, 0-9, -).', undefined, { pattern: /^[a-z0-9][a-z0-9-]{0,62}$/, patternText: 'a name of a-z, 0-9 and - (at most 63 characters)' }), { maxItems: 32 }),
});

/** 127.0.0.0/8, ::1 and localhost: traffic that never leaves this machine. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  return isIP(h) === 4 && h.startsWith('127.');
}

interface SyncTransport { broker: string; embedded_listen: string; tls_cert_file: string; tls_key_file: string; allow_plain: boolean }

/** Plain TCP across a network only when sync.allow_plain says so; the error names the key to change. */
export function checkSyncTransport(sync: SyncTransport): void {
  if (sync.allow_plain) return;
  if (sync.broker === 'embedded') {
    const host = sync.embedded_listen.slice(0, sync.embedded_listen.lastIndexOf(':'));
    if (sync.tls_cert_file === '' && !isLoopback(host)) {
      throw new ConfigError('sync.tls_cert_file', `sync.tls_cert_file is "" (plain TCP) while the broker listens on ${sync.embedded_listen}, off this machine; give the broker a certificate (\`gdo broker tls\`) or set sync.allow_plain to true`);
    }
    if (sync.tls_cert_file !== '' && sync.tls_key_file === '') throw new ConfigError('sync.tls_key_file', 'sync.tls_key_file must name the key of sync.tls_cert_file, got ""');
    return;
  }
  if (!/^(mqtt|ws):\/\//.test(sync.broker)) return;
  let host: string;
  try { host = new URL(sync.broker).hostname; } catch { throw new ConfigError('sync.broker', `sync.broker is not a URL: ${JSON.stringify(sync.broker.replace(/\/\/[^@/]*@/, '//'))}`); }
  if (!isLoopback(host)) {
    const scheme = sync.broker.startsWith('ws') ? 'wss' : 'mqtts';
    throw new ConfigError('sync.broker', `sync.broker is plain TCP to ${host}, which crosses a network; use ${scheme}:// (with sync.ca_file) or set sync.allow_plain to true`);
  }
}
