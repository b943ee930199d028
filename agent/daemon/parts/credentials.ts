// Broker credentials: sync.username and the password in sync.password_file (first boot writes broker.pass,
// mode 0600). The password is a secret: errors name the file, never the content.
import { readFileSync } from 'node:fs';

export interface BrokerCredentials { username?: string; password?: string }

export function readCredentials(sync: { username: string; password_file: string }): BrokerCredentials | undefined {
  const out: BrokerCredentials = {};
  if (sync.username !== '') out.username = sync.username;
  if (sync.password_file !== '') {
    try {
      out.password = readFileSync(sync.password_file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new Error(`sync.password_file: cannot read the broker password file ${sync.password_file} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'}); first boot writes it (broker.pass, mode 0600)`);
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
