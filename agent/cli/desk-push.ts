// What a staff command does with what it signed once the data directory is connected to a site
// (`gdo site connect`): publish it live (an online door applies it as it arrives) and reconcile with
// the hub until the hub holds it, within a bounded wait (--push-wait SECONDS). Offline is normal life
// for a laptop: the change is signed and kept in the data directory either way, the command still
// exits 0, and `gdo sync` (or the next staff command's push) delivers it. One progress line on stderr.
import type { AppendedEvent } from '../ledger/event.ts';
import type { Ledger } from '../ledger/ledger.ts';
// Types only: agent/sync (mqtt) is loaded when a site is connected, so other commands start without it.
import type { DeskLink, DeskLinkError } from '../sync/desk-link.ts';
import { UsageError, type Args } from './args.ts';
import { dataDir } from './ledger-cmds.ts';
import { linkCa, readSiteLink, type SiteLink } from './site-link.ts';

export const PUSH_FLAG = 'push-wait';
export const DEFAULT_PUSH_WAIT_S = 5;

export interface PushReport {
  /** delivered: the hub holds every event of the desk. offline: the broker could not be reached. refused:
   * the broker refused the account or its certificate did not check out. unconfirmed: sent, but no hub
   * confirmed it in time. skipped: --push-wait 0. */
  state: 'delivered' | 'offline' | 'refused' | 'unconfirmed' | 'skipped';
  site: string;
  /** Events this command signed. */
  events: number;
  /** The peer that confirmed (or was asked). */
  hub?: string;
  /** Events sent to / received from the hub while reconciling (earlier offline changes go too). */
  sent: number;
  received: number;
  ms: number;
  reason?: string;
}

/** --push-wait SECONDS (a decimal), checked before anything is signed. */
export function pushWaitMs(a: Args): number {
  const v = a.flags.get(PUSH_FLAG);
  if (v === undefined) return DEFAULT_PUSH_WAIT_S * 1000;
  const n = Number(v);
  if (v === true || !Number.isFinite(n) || n < 0 || n > 600) throw new UsageError(`--${PUSH_FLAG} must be a number of seconds from 0 to 600, got ${String(v)}`);
  return Math.round(n * 1000);
}

/** A DeskLink for the data directory's recorded site. */
export async function deskLinkFor(dir: string, l: Ledger, link: SiteLink, autoSync = false, caPem?: Buffer): Promise<DeskLink> {
  const ca = caPem ?? linkCa(dir, link);
  const { DeskLink } = await import('../sync/desk-link.ts');
  return new DeskLink({ ledger: l, url: link.broker, name: link.name, password: link.password, ...(ca && { ca }), autoSync });
}

/** A DeskLinkError, recognised without loading agent/sync for the class. */
export function isLinkError(e: unknown): e is DeskLinkError {
  return e instanceof Error && e.name === 'DeskLinkError' && typeof (e as { problem?: unknown }).problem === 'string';
}

/** The stable code an error report gives a link failure: SITE_AUTH, SITE_TLS_CA, SITE_UNREACHABLE ... */
export function linkErrorCode(problem: string): string {
  return `SITE_${problem.toUpperCase().replace(/-/g, '_')}`;
}

const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;

export class DeskPush {
  readonly #link: DeskLink;
  readonly #site: SiteLink;
  readonly #dir: string;
  readonly #waitMs: number;
  readonly #ledger: Ledger;
  readonly #raws: Buffer[] = [];
  readonly #prev: Ledger['onAppend'];
  readonly #hook: (evs: AppendedEvent[]) => void;
  readonly #starting: Promise<unknown>;

  private constructor(dir: string, l: Ledger, site: SiteLink, waitMs: number, link: DeskLink) {
    this.#dir = dir;
    this.#site = site;
    this.#waitMs = waitMs;
    this.#ledger = l;
    // Every event this process appends from now on is what the command signed.
    this.#prev = l.onAppend;
    const prev = this.#prev;
    this.#hook = (evs) => {
      prev?.(evs);
      for (const e of evs) this.#raws.push(e.raw);
    };
    l.onAppend = this.#hook;
    this.#link = link;
    // Connecting overlaps the passphrase and the signing; failures are read in finish().
    this.#starting = waitMs > 0 ? this.#link.start().then(() => null, (e: unknown) => e) : Promise.resolve(null);
  }

  /**
   * Starts connecting to the data directory's site, if it has one (null otherwise: nothing changes for a
   * desk that was never connected). Bad options and an unreadable link fail here, before any signing.
   */
  static async open(a: Args, l: Ledger, instead?: { link: SiteLink; ca?: Buffer }): Promise<DeskPush | null> {
    const waitMs = pushWaitMs(a);
    const dir = dataDir(a);
    // `instead`: a broker given on the command line (gdo node approve --broker), for a desk never connected.
    const site = readSiteLink(dir) ?? instead?.link ?? null;
    if (!site || !l.orgId) return null;
    return new DeskPush(dir, l, site, waitMs, await deskLinkFor(dir, l, site, false, site === instead?.link ? instead.ca : undefined));
  }

  get events(): number { return this.#raws.length; }

  /** Delivers what was signed; null when nothing was. Never throws for the network: the report says what happened. */
  async finish(): Promise<PushReport | null> {
    if (this.#raws.length === 0) return null;
    const t0 = Date.now();
    const deadline = t0 + this.#waitMs;
    const base = { site: this.#site.broker, events: this.#raws.length, sent: 0, received: 0 };
    const done = (r: Omit<PushReport, 'site' | 'events' | 'ms' | 'sent' | 'received'> & Partial<PushReport>): PushReport => {
      const report: PushReport = { ...base, ...r, ms: Date.now() - t0 };
      process.stderr.write(`${this.#say(report)}\n`);
      return report;
    };
    if (this.#waitMs === 0) return done({ state: 'skipped', reason: `--${PUSH_FLAG} 0` });
    process.stderr.write(`gdo: sending ${plural(this.#raws.length, 'event')} to the site (${this.#site.broker}) ...\n`);
    try {
      const startErr = await this.#starting;
      if (startErr) return done({ state: 'offline', reason: (startErr as Error).message });
      await this.#link.connect(Math.max(0, deadline - Date.now()));
      this.#link.publish(this.#raws);
      const hub = await this.#link.target(deadline);
      if (!hub) return done({ state: 'unconfirmed', reason: 'no hub online on the broker (sent live to the nodes that are)' });
      const r = await this.#link.reconcile(hub, deadline);
      // The hub lacked more than what was just published live (changes made offline): the online nodes
      // lack it too, and get it from the desk now.
      if (r.confirmed && r.sent > 0) await this.#link.reconcileOthers(hub, deadline);
      return done({ state: r.confirmed ? 'delivered' : 'unconfirmed', hub, sent: r.sent, received: r.received, ...(r.error && { reason: r.error }) });
    } catch (e) {
      if (!isLinkError(e)) throw e;
      const offline = e.problem === 'unreachable' || e.problem === 'timeout';
      return done({ state: offline ? 'offline' : 'refused', reason: e.message });
    }
  }

  #say(r: PushReport): string {
    const secs = `${(r.ms / 1000).toFixed(1)} s`;
    const kept = `the change is signed and kept in ${this.#dir}; gdo sync (or the next staff command) sends it`;
    switch (r.state) {
      case 'delivered': return `gdo: ${r.hub ?? 'the hub'} has it (${secs}${r.received ? `; received ${plural(r.received, 'event')} from the site` : ''})`;
      case 'offline': return `gdo: offline: ${r.reason ?? 'no broker'}; ${kept}`;
      case 'refused': return `gdo: not sent: ${r.reason ?? 'refused'}; ${kept} once gdo site connect works again`;
      case 'unconfirmed': return `gdo: sent, but no hub confirmed it within ${secs} (${r.reason ?? 'no answer'}); ${kept}`;
      case 'skipped': return `gdo: not sent (--${PUSH_FLAG} 0); ${kept}`;
    }
  }

  /** Disconnects and unhooks the ledger (before the caller closes it). */
  async close(): Promise<void> {
    try {
      await this.#starting;
      await this.#link.close();
    } finally {
      if (this.#ledger.onAppend === this.#hook) this.#ledger.onAppend = this.#prev;
    }
  }
}

/**
 * Runs `fn` with stdout held when --json: a command prints its result inside, and the push's outcome
 * joins that one document as "push" once known. In text mode the result prints at once.
 */
export async function withPushOutput<T>(a: Args, push: DeskPush | null, fn: () => T | Promise<T>): Promise<T> {
  if (!push || a.flags.get('json') !== true) {
    const v = await fn();
    await push?.finish();
    return v;
  }
  const held: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    held.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }) as typeof process.stdout.write;
  let v: T;
  try {
    v = await fn();
  } catch (e) {
    write(held.join(''));
    throw e;
  } finally { process.stdout.write = write; }
  const report = await push.finish();
  const text = held.join('');
  if (!report) { write(text); return v; }
  try {
    const doc = JSON.parse(text) as unknown;
    if (typeof doc === 'object' && doc !== null && !Array.isArray(doc)) {
      write(`${JSON.stringify({ ...(doc as Record<string, unknown>), push: report })}\n`);
      return v;
    }
  } catch { /* not one document: printed as it was */ }
  write(text);
  return v;
}
