// A node nobody has approved yet publishes its signed enrolment request (written by first boot) as a
// retained message on its enrolment topic, where `gdo node approve` or a hub collects it (issue 7,
// docs/sync-protocol.md 2). Published at start and again every REPUBLISH_MS while the node is still not
// enrolled, in case the broker lost its retained messages; a failed publish fails the part, which the
// supervisor retries with backoff. Nothing happens once the node is enrolled.
import { readFileSync } from 'node:fs';
import { parseEnrolmentRequest, encodeEnrolmentRequest } from '../../enrol/request.ts';
import type { Logger } from '../log.ts';
import { errText } from '../log.ts';
import type { Part, PartHealth } from '../supervisor.ts';
import type { BrokerCredentials } from './credentials.ts';
import type { SyncTls } from '../../sync/options.ts';

const REPUBLISH_MS = 15 * 60_000;

export interface EnrolmentPartOptions {
  requestFile: string;
  nodeName: string;
  /** The organisation (hex); undefined until the ledger has a genesis. */
  org: () => string | undefined;
  brokerUrl: () => string | undefined;
  credentials: () => BrokerCredentials | undefined;
  /** The broker's TLS (sync.ca_file, the hub's own name), as sync uses it. */
  tls: () => SyncTls | undefined;
  enrolled: () => boolean;
  log: Logger;
}

export class EnrolmentPart implements Part {
  readonly name = 'enrolment';
  readonly deps: readonly string[];
  readonly #o: EnrolmentPartOptions;
  #timer: NodeJS.Timeout | undefined;
  #published = false;
  #report: ((err: unknown) => void) | undefined;

  constructor(opts: EnrolmentPartOptions, deps: readonly string[]) {
    this.#o = opts;
    this.deps = deps;
  }

  async start(report: (err: unknown) => void): Promise<void> {
    this.#report = report;
    await this.#publish();
    this.#timer = setInterval(() => {
      this.#publish().catch((err: unknown) => this.#report?.(err));
    }, REPUBLISH_MS);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  health(): PartHealth {
    return { state: 'ok', ...(this.#published && { detail: 'request published' }) };
  }

  async #publish(): Promise<void> {
    if (this.#o.enrolled()) return;
    const org = this.#o.org();
    const url = this.#o.brokerUrl();
    if (!org || !url) throw new Error('no organisation or broker yet to publish the enrolment request to');
    let payload: Buffer;
    try {
      // Parsed and re-encoded: a damaged file is reported here, not published.
      payload = encodeEnrolmentRequest(parseEnrolmentRequest(readFileSync(this.#o.requestFile), this.#o.requestFile));
    } catch (err) {
      throw new Error(`enrolment request ${this.#o.requestFile}: ${errText(err)}`);
    }
    const { publishEnrolmentRequest } = await import('../../sync/enrol-topic.ts');
    const creds = this.#o.credentials();
    const tls = this.#o.tls();
    await publishEnrolmentRequest({
      ...(tls && { tls }),
      url, orgId: org, name: this.#o.nodeName, payload,
      ...(creds?.username !== undefined && { username: creds.username }),
      ...(creds?.password !== undefined && { password: creds.password }),
    });
    this.#published = true;
    this.#o.log.info({ node: this.#o.nodeName }, 'enrolment request published; waiting for an admin to approve this node');
  }
}
