// Peer sync over MQTT (agent/sync). A hub runs the embedded broker; other nodes name a broker URL.
import { c, type Node } from '../schema.ts';

export const syncSchema: Node = c.obj('Merging with the other nodes over MQTT.', {
  broker: c.str('"" for none (a standalone node), "embedded" to run a broker in this agent (a hub), or the broker\'s URL (mqtt://, mqtts://, ws://, wss://).', '',
    { pattern: /^(|embedded|(mqtts?|wss?):\/\/[^\s]+)$/, patternText: '"", "embedded" or an mqtt://, mqtts://, ws:// or wss:// URL' }),
  username: c.str('Broker user name; "" for none.', ''),
  password_file: c.str('File holding the broker password (first boot writes broker.pass, mode 0600); a secret, never logged. "" for none.', ''),
  embedded_listen: c.str('embedded only: address the broker listens on, host:port.', '0.0.0.0:1883',
    { pattern: /^[^\s:]+:\d{1,5}$/, patternText: 'host:port' }),
  // docs/sync-protocol.md 6: the embedded broker's accounts come from the ledger and this secret.
  broker_secret_file: c.str('embedded only: the broker secret (hex, mode 0600; made by `gdo broker secret`, written by first boot from a hub\'s bootstrap). Every MQTT password derives from it; without it the hub does not run the broker. The hub\'s own sync uses a password derived from it (username and password_file are not used).',
    'broker.secret', { minLength: 1 }),
  broker_operators: c.list('embedded only: accounts for people\'s tools, such as the office laptop that collects enrolment requests (`gdo node approve --broker`) and syncs the admin\'s ledger; each one\'s password is `gdo broker password --name NAME`.',
    c.str('An operator name (a-z, 0-9, -).', undefined, { pattern: /^[a-z0-9][a-z0-9-]{0,62}$/, patternText: 'a name of a-z, 0-9 and - (at most 63 characters)' }), { maxItems: 32 }),
});
