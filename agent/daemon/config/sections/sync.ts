// Peer sync over MQTT (agent/sync). A hub runs the embedded broker; other nodes name a broker URL.
import { c, type Node } from '../schema.ts';

export const syncSchema: Node = c.obj('Merging with the other nodes over MQTT.', {
  broker: c.str('"" for none (a standalone node), "embedded" to run a broker in this agent (a hub), or the broker\'s URL (mqtt://, mqtts://, ws://, wss://).', '',
    { pattern: /^(|embedded|(mqtts?|wss?):\/\/[^\s]+)$/, patternText: '"", "embedded" or an mqtt://, mqtts://, ws:// or wss:// URL' }),
  username: c.str('Broker user name; "" for none.', ''),
  password_file: c.str('File holding the broker password (first boot writes broker.pass, mode 0600); a secret, never logged. "" for none.', ''),
  embedded_listen: c.str('embedded only: address the broker listens on, host:port.', '0.0.0.0:1883',
    { pattern: /^[^\s:]+:\d{1,5}$/, patternText: 'host:port' }),
});
