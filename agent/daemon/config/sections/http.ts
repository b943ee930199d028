// The local status endpoint (/health, /status, /metrics).
import { c, type Node } from '../schema.ts';

export const httpSchema: Node = c.obj('The local HTTP status endpoint: /health, /status, /metrics (Prometheus).', {
  listen: c.str('host:port to listen on; loopback by default so only this machine sees it. Port 0 picks a free port (tests); "" turns the endpoint off.',
    '127.0.0.1:8742', { pattern: /^(|[^\s]+:\d{1,5})$/, patternText: 'host:port or ""' }),
});
