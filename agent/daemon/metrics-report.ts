// What /metrics says about the agent (Prometheus text, metrics.ts): decisions by result and reason,
// recorded events, the ledger, sync and its peers, each part's health and restarts, readers, doors and
// machines, event-loop lag and the watchdog. Built from a snapshot the daemon takes at scrape time.
import type { IntervalHistogram } from 'node:perf_hooks';
import type { DoorStatus } from '../controllers/door.ts';
import type { MachineStatus } from '../controllers/machine.ts';
import type { ObservedSink } from './decisions.ts';
import { metricName, renderMetrics, type Family } from './metrics.ts';
import type { SyncStatus } from './parts/sync.ts';
import type { PartStatus } from './supervisor.ts';

export interface MetricsInput {
  ready: boolean;
  healthy: boolean;
  sink: ObservedSink;
  ledger?: {
    events: number; pending: number; stats: { linear: number; merges: number; mergedEvents: number };
    /** The writer thread's counters (agent/ledger/writer.ts); null when the ledger has none. */
    writer?: { starts: number; batches: number; failures: number } | null;
  };
  /** Present when sync is configured; null while it is not running. */
  sync?: SyncStatus | null;
  parts: PartStatus[];
  readers: { id: string; up: boolean }[];
  doors: DoorStatus[];
  machines: MachineStatus[];
  loop: IntervalHistogram;
  watchdog?: { pings: number; skipped: number };
  startedAt: number;
}

export function agentMetrics(m: MetricsInput): string {
  const f: Family[] = [];
  const g = (name: string, help: string, samples: Family['samples']): void => { f.push({ name, help, type: 'gauge', samples }); };
  const c = (name: string, help: string, samples: Family['samples']): void => { f.push({ name, help, type: 'counter', samples }); };
  const bit = (b: boolean): number => (b ? 1 : 0);
  g('gdo_ready', 'Whether the agent has been ready for badges (1) or is still starting (0).', [{ value: bit(m.ready) }]);
  g('gdo_healthy', 'Whether every reader, the ledger and GPIO are healthy right now.', [{ value: bit(m.healthy) }]);
  c('gdo_decisions_total', 'Access decisions by controller kind, result and reason.', [...m.sink.decisions].map(([k, value]) => {
    const [result, reason, kind] = k.split('\0') as [string, string, string];
    return { labels: { kind, result, reason }, value };
  }));
  c('gdo_events_recorded_total', 'Events the controllers recorded, by kind.', [...m.sink.events].map(([kind, value]) => ({ labels: { kind }, value })));
  c('gdo_event_write_errors_total', 'Events the ledger could not take.', [{ value: m.sink.writeErrors }]);
  if (m.ledger) {
    g('gdo_ledger_events', 'Events in the local ledger replica.', [{ value: m.ledger.events }]);
    g('gdo_ledger_pending', 'Events waiting for missing parents.', [{ value: m.ledger.pending }]);
    c('gdo_ledger_appends_total', 'Events appended at the head since the ledger opened.', [{ value: m.ledger.stats.linear }]);
    c('gdo_ledger_merges_total', 'Merge windows folded since the ledger opened.', [{ value: m.ledger.stats.merges }]);
    c('gdo_ledger_merged_events_total', 'Events placed by merges since the ledger opened.', [{ value: m.ledger.stats.mergedEvents }]);
    const w = m.ledger.writer;
    if (w) {
      c('gdo_ledger_writer_starts_total', "Starts of the ledger's writer thread (it stops when idle).", [{ value: w.starts }]);
      c('gdo_ledger_writer_batches_total', "Peers' batches handed to the writer thread.", [{ value: w.batches }]);
      c('gdo_ledger_writer_failures_total', 'Writer threads that died holding a batch (the batch was not committed).', [{ value: w.failures }]);
    }
  }
  if (m.sync !== undefined) {
    const s = m.sync;
    g('gdo_sync_connected', 'Whether peer sync is connected to its broker.', [{ value: bit(s?.state === 'connected') }]);
    g('gdo_sync_peers', 'Peers sync knows of.', [{ value: s?.peers.length ?? 0 }]);
    g('gdo_sync_peer_lag_events', 'Events this node holds beyond what each peer last announced.', (s?.peers ?? [])
      .filter((p) => p.lag_events !== undefined).map((p) => ({ labels: { peer: p.name }, value: p.lag_events! })));
    for (const [name, value] of Object.entries(s?.counters ?? {})) c(`gdo_sync_${metricName(name)}_total`, `Sync counter ${name}.`, [{ value }]);
  }
  g('gdo_part_up', 'Whether each part of the agent is running (ok or degraded).', m.parts.map((p) => ({ labels: { part: p.name }, value: bit(p.state === 'ok' || p.state === 'degraded') })));
  c('gdo_part_restarts_total', 'Restarts of each part after a failure.', m.parts.map((p) => ({ labels: { part: p.name }, value: p.restarts })));
  g('gdo_reader_up', 'Whether each reader answers.', m.readers.map((r) => ({ labels: { reader: r.id }, value: bit(r.up) })));
  g('gdo_door_unlocked', 'Whether each door is unlocked.', m.doors.map((d) => ({ labels: { door: d.id }, value: bit(d.unlocked) })));
  g('gdo_door_open', 'Whether each door is open (door switch).', m.doors.map((d) => ({ labels: { door: d.id }, value: bit(d.open) })));
  g('gdo_machine_enabled', 'Whether each machine\'s relay is energised.', m.machines.map((x) => ({ labels: { machine: x.id }, value: bit(x.relay) })));
  const lag = (q: number): number => m.loop.percentile(q) / 1e9;
  g('gdo_event_loop_lag_seconds', 'Event-loop delay since the agent started, by quantile.', [
    { labels: { quantile: '0.5' }, value: lag(50) }, { labels: { quantile: '0.99' }, value: lag(99) }, { labels: { quantile: '1' }, value: m.loop.max / 1e9 },
  ]);
  if (m.watchdog) {
    c('gdo_watchdog_pings_total', 'Watchdog pings sent to systemd.', [{ value: m.watchdog.pings }]);
    c('gdo_watchdog_skipped_total', 'Watchdog rounds skipped because the agent was unhealthy.', [{ value: m.watchdog.skipped }]);
  }
  g('process_resident_memory_bytes', 'Resident memory of the agent.', [{ value: process.memoryUsage.rss() }]);
  g('process_start_time_seconds', 'When the agent started (Unix time).', [{ value: Math.floor(m.startedAt / 1000) }]);
  return renderMetrics(f);
}
