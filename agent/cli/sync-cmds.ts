// `gdo sync [--watch]`: the data directory reconciles both ways with its connected site (gdo site
// connect) and says what went each way. With --watch the desk stays a live peer, as a node is,
// until Ctrl-C: what the hub and the nodes publish arrives as they publish it.
import type { Ledger } from '../ledger/ledger.ts';
import type { DeskLink } from '../sync/desk-link.ts';
import { onlyFlags, UsageError, type Args } from './args.ts';
import { CliError } from './cli-error.ts';
import { deskLinkFor, isLinkError, linkErrorCode } from './desk-push.ts';
import { dataDir, ledgerState, openLedger } from './ledger-cmds.ts';
import type { Output } from './output.ts';
import type { Command } from './registry.ts';
import { readSiteLink, type SiteLink } from './site-link.ts';

const plural = (n: number, w: string): string => `${n} ${w}${n === 1 ? '' : 's'}`;

function waitMs(a: Args): number {
  const v = a.flags.get('wait');
  const n = Number(v ?? 10);
  if (v === true || !Number.isFinite(n) || n <= 0 || n > 600) throw new UsageError(`--wait must be a number of seconds from 0 to 600, got ${String(v)}`);
  return Math.round(n * 1000);
}

interface SyncReport {
  site: string; peer: string | null; confirmed: boolean; sent: number; received: number; sessions: number;
  /** The other online peers reconciled with, and what went each way with each. */
  others: Array<{ peer: string; confirmed: boolean; sent: number; received: number }>;
  events_before: number; events: number; heads: string[]; state_hash: string; error?: string;
}

/** One reconciliation with the site's hub, reported; DeskLinkError when the broker is not reachable. */
async function reconcileOnce(link: DeskLink, l: Ledger, site: SiteLink, ms: number): Promise<SyncReport> {
  const before = l.count();
  const deadline = Date.now() + ms;
  await link.connect(ms);
  const peer = await link.target(deadline);
  const r = peer ? await link.reconcile(peer, deadline) : null;
  const others = peer && r?.confirmed ? await link.reconcileOthers(peer, deadline) : [];
  const s = ledgerState(l);
  return {
    site: site.broker, peer, confirmed: r?.confirmed ?? false, sent: r?.sent ?? 0, received: r?.received ?? 0, sessions: r?.sessions ?? 0,
    others: others.map((o) => ({ peer: o.peer, confirmed: o.confirmed, sent: o.sent, received: o.received })),
    events_before: before, events: s.events, heads: s.heads, state_hash: s.stateHash,
    ...(peer ? (r?.error && !r.confirmed ? { error: r.error } : {}) : { error: 'no hub online on the broker' }),
  };
}

function describe(r: SyncReport): string {
  if (!r.peer) return `reached ${r.site}, but no hub is online there; nothing reconciled`;
  const head = r.confirmed ? `in sync with ${r.peer} at ${r.site}` : `not confirmed by ${r.peer} at ${r.site} (${r.error ?? 'no answer'})`;
  return [
    `${head}: sent ${plural(r.sent, 'event')}, received ${plural(r.received, 'event')} (${plural(r.sessions, 'session')})`,
    ...r.others.map((o) => `  and ${o.peer}: sent ${plural(o.sent, 'event')}, received ${plural(o.received, 'event')}${o.confirmed ? '' : ' (not confirmed)'}`),
    `events       ${r.events_before} -> ${r.events}`,
    `state hash   ${r.state_hash}`,
    `heads        ${r.heads.join('\n             ')}`,
  ].join('\n');
}

async function cmdSync(a: Args, out: Output): Promise<number> {
  onlyFlags(a, ['data', 'json', 'watch', 'wait']);
  if (a.pos.length > 0) throw new UsageError(`unexpected argument '${a.pos[0]}'`);
  const ms = waitMs(a);
  const dir = dataDir(a);
  const site = readSiteLink(dir);
  if (!site) throw new UsageError(`${dir} is not connected to a site: gdo site connect --broker URL --name NAME first`);
  const l = openLedger(a);
  const watch = a.flags.get('watch') === true;
  const link = await deskLinkFor(dir, l, site, watch);
  try {
    let r: SyncReport;
    try {
      r = await reconcileOnce(link, l, site, ms);
    } catch (e) {
      if (!isLinkError(e)) throw e;
      throw new CliError(linkErrorCode(e.problem), e.message, 1);
    }
    out.result(r, () => describe(r));
    if (!watch) return r.confirmed ? 0 : 1;
    await watchLive(link, l, out);
    return 0;
  } finally {
    await link.close();
    l.close();
  }
}

/** Reports what arrives and leaves once a second while anything does, until SIGINT or SIGTERM. */
async function watchLive(link: DeskLink, l: Ledger, out: Output): Promise<void> {
  process.stderr.write('gdo: watching the site; Ctrl-C stops\n');
  let last = link.counters();
  let lastCount = l.count();
  let wasConnected = true;
  await new Promise<void>((resolve) => {
    const tick = setInterval(() => {
      const c = link.counters();
      const n = l.count();
      if (link.connected !== wasConnected) {
        wasConnected = link.connected;
        process.stderr.write(`gdo: ${wasConnected ? 'connected again' : 'lost the broker; retrying'}\n`);
      }
      if (c.eventsSent === last.eventsSent && c.eventsAccepted === last.eventsAccepted && n === lastCount) return;
      const s = ledgerState(l);
      const v = { at: new Date().toISOString(), sent: c.eventsSent - last.eventsSent, received: c.eventsAccepted - last.eventsAccepted, events: s.events, state_hash: s.stateHash };
      last = c;
      lastCount = n;
      out.result(v, () => `${v.at}  sent ${plural(v.sent, 'event')}, received ${plural(v.received, 'event')}; ${v.events} events, state ${v.state_hash.slice(0, 16)}`);
    }, 1000);
    const stop = (): void => {
      clearInterval(tick);
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stderr.write('gdo: stopping\n');
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

export const syncCommands: Command[] = [{
  name: 'sync',
  summary: 'reconcile the data directory with its connected site, both ways (--watch: live)',
  booleans: ['watch'],
  help: `usage: gdo sync [--watch] [--wait S (10)] [--data DIR] [--json]
Reconciles this data directory's ledger with the hub of the site it is connected to (gdo site connect):
what the desk signed while offline goes to the hub, what the nodes recorded (access log, anomalies,
approvals from another desk) comes back. Reports the events sent and received, and the new heads and
state hash (equal state hashes mean the desk and the hub agree).
  --watch   stay connected as a live peer and report what arrives and leaves, until Ctrl-C
  --wait S  how long to wait for the broker and the hub (default 10 s)
exit codes: 0 in sync, 1 broker unreachable, refused, or no hub confirmed it, 2 usage error`,
  run: (_sub, a, out) => cmdSync(a, out),
}];
