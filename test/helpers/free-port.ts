// A TCP port nothing listens on right now, for a broker or relay a test starts itself. Another process could
// take it before the test binds it; the loopback-only ports of one test run make that rare enough.
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}
