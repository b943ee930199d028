// The agent daemon: builds the parts from the configuration, runs them under the supervisor, ties their
// faults to the controllers (a reader or ledger fault drives outputs safe, door.ts "faults"), tells systemd
// when it is ready and pings the watchdog while healthy, and shuts down in order: outputs safe, controllers
// stopped (their last events written), access closed (pending writes committed), ledger closed.
import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { AccessDecider, Decision, DoorPolicy } from '../controllers/types.ts';
import type { Dapp } from '../ledger/dapp.ts';
import { hex } from '../ledger/event.ts';
import { rolesOf, type AgentConfig } from './config/index.ts';
import { ObservedSink } from './decisions.ts';
import { HttpPart, parseListen, type StatusSource } from './http-server.ts';
import { errText, type Logger } from './log.ts';
import { agentMetrics } from './metrics-report.ts';
import type { Notifier } from './notify.ts';
import { OfflineClock } from './offline-clock.ts';
import { AccessPart, createAccess, type AccessFactory } from './parts/access.ts';
import { ControllersPart } from './parts/controllers.ts';
import { readCredentials, type BrokerCredentials } from './parts/credentials.ts';
import { FileBackedBoard } from './parts/fake-board-file.ts';
import { EnrolmentPart } from './parts/enrolment.ts';
import { GpioPart } from './parts/gpio.ts';
import { LedgerPart } from './parts/ledger.ts';
import { MosquittoFilesPart } from './parts/mosquitto-files.ts';
import { ReaderPart, type ReaderStatus } from './parts/reader.ts';
import { BrokerPart, clientTls, createBroker, createSync, redactUrl, SyncPart, type BrokerFactory, type SyncFactory } from './parts/sync.ts';
import type { SyncTls } from '../sync/options.ts';
import { simControl } from './sim-control.ts';
import { Supervisor, type Part, type PartStatus, type SupervisorOptions } from './supervisor.ts';
import { AGENT_VERSION } from './version.ts';
import { Watchdog } from './watchdog.ts';

export interface DaemonOptions {
  config: AgentConfig;
  log: Logger;
  /** Factory hooks; default: the ones in parts/access.ts and parts/sync.ts. */
  access?: AccessFactory;
  sync?: SyncFactory;
  broker?: BrokerFactory;
  notifier?: Notifier;
  /** Dapps the ledger runs; default agent/dapps.ts allDapps. */
  dapps?: Dapp[];
  /** Supervisor timings (tests). */
  supervisor?: Pick<SupervisorOptions, 'checkMs' | 'retryInitialMs' | 'retryMaxMs' | 'stableMs'>;
}

/** Reason a badge is denied while the access service is down (the ledger is up, access is restarting). */
export const ACCESS_UNAVAILABLE = 'access_unavailable';

export class Daemon {
  readonly config: AgentConfig;
  readonly sink: ObservedSink;
  readonly supervisor: Supervisor;
  readonly #log: Logger;
  readonly #notifier: Notifier | undefined;
  readonly #gpio: GpioPart;
  readonly #needsGpio: boolean;
  readonly #ledger: LedgerPart;
  readonly #access: AccessPart;
  readonly #readers: ReaderPart[];
  readonly #controllers: ControllersPart | undefined;
  readonly #broker: BrokerPart | undefined;
  readonly #sync: SyncPart | undefined;
  readonly #http: HttpPart | undefined;
  readonly #loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 20 });
  /** Since when this node has had no peer, across restarts (access.max_offline_ms). */
  readonly #offline: OfflineClock;
  readonly #startedAt = Date.now();
  #watchdog: Watchdog | undefined;
  #readyMs: number | undefined;
  #stopping: Promise<void> | undefined;

  constructor(opts: DaemonOptions) {
    const cfg = opts.config;
    this.config = cfg;
    this.#log = opts.log;
    this.#notifier = opts.notifier;
    this.#gpio = new GpioPart(cfg.gpio);
    this.#ledger = new LedgerPart(cfg.ledger, cfg.org, opts.dapps);
    this.#offline = new OfflineClock({
      stateDir: cfg.state_dir, log: this.#log.child({ part: 'offline-clock' }), toleranceMs: cfg.access.clock_tolerance_ms,
      live: () => this.#sync?.service?.lastContact() ?? null,
    });
    const accessFactory = opts.access ?? createAccess;
    this.#access = new AccessPart(accessFactory, () => {
      const ledger = this.#ledger.ledger;
      return ledger && {
        ledger, config: cfg, log: this.#log.child({ part: 'access' }),
        offlineSince: () => this.#offline.since(),
        ledgerFault: (err: unknown) => this.supervisor.fail('ledger', err),
      };
    });
    this.sink = new ObservedSink({
      inner: () => this.#access.service?.sink,
      log: this.#log,
      onWriteError: (err, kind) => this.supervisor.fail('ledger', new Error(`could not record ${kind}: ${errText(err)}`)),
    });
    this.#readers = cfg.readers.map((r) => new ReaderPart({
      config: r,
      log: this.#log,
      gpio: () => this.#gpio.backend,
      onStatus: (id, s) => this.#onReaderStatus(id, s),
    }));
    // A hub that drives nothing needs no GPIO (and on a server there is none).
    this.#needsGpio = cfg.doors.length + cfg.machines.length > 0 || cfg.readers.some((r) => r.reset_line !== null);
    const parts: Part[] = [...(this.#needsGpio ? [this.#gpio] : []), this.#ledger, this.#access, ...this.#readers];
    if (cfg.doors.length + cfg.machines.length > 0) {
      this.#controllers = new ControllersPart({
        config: cfg,
        gpio: () => this.#gpio.backend,
        reader: (id) => this.#readers.find((r) => r.id === id)!,
        decider: this.#decider(),
        sink: this.sink,
        policy: this.#policy(),
        onError: (err, where) => this.#log.warn({ err, where }, `${where}: ${errText(err)}`),
        onStarted: () => { if (!this.supervisor.isRunning('ledger')) this.#eachController((c) => c.onLedgerFault('ledger not open')); },
      });
      parts.push(this.#controllers);
    }
    if (cfg.sync.broker === 'embedded') {
      const make = opts.broker ?? createBroker;
      this.#broker = new BrokerPart(() => {
        const ledger = this.#ledger.ledger;
        if (!ledger) throw new Error('the ledger is not open');
        return make({ listen: parseListen(cfg.sync.embedded_listen), ledger, config: cfg, log: this.#log.child({ part: 'broker' }) });
      });
      parts.push(this.#broker);
    }
    // A hub's own clients log in to its broker with what the broker gave them (a password derived from the
    // broker secret); everyone else with sync.username and sync.password_file.
    const credentials = (): BrokerCredentials | undefined => (cfg.sync.broker === 'embedded' ? this.#broker?.credentials : readCredentials(cfg.sync));
    // TLS as the broker asks: the hub's own clients check its certificate's name on loopback, nodes the URL's host.
    const tls = (url: string): SyncTls | undefined => (cfg.sync.broker === 'embedded' ? this.#broker?.tls : clientTls(cfg.sync, url));
    if (cfg.sync.broker !== '') {
      const make = opts.sync ?? createSync;
      this.#sync = new SyncPart(() => {
        const ledger = this.#ledger.ledger;
        if (!ledger) throw new Error('the ledger is not open');
        const brokerUrl = cfg.sync.broker === 'embedded' ? this.#broker?.url : cfg.sync.broker;
        if (!brokerUrl) throw new Error('the embedded broker is not running');
        return make({
          ledger, config: cfg, brokerUrl, log: this.#log.child({ part: 'sync' }),
          ...optional('credentials', credentials()),
          ...optional('tls', tls(brokerUrl)),
        });
      }, cfg.sync.broker === 'embedded');
      parts.push(this.#sync);
    }
    if (cfg.sync.mosquitto_dir !== '') {
      // Beside the site's own Mosquitto: its password and ACL files follow the ledger (parts/mosquitto-files.ts).
      parts.push(new MosquittoFilesPart({
        ledger: () => this.#ledger.ledger, dir: cfg.sync.mosquitto_dir, pidFile: cfg.sync.mosquitto_pid_file === '' ? undefined : cfg.sync.mosquitto_pid_file,
        secretFile: cfg.sync.broker_secret_file, operators: cfg.sync.broker_operators, nodeName: cfg.node.name, roles: cfg.node.roles,
        onReloaded: () => this.#sync?.service?.announce(),
        log: this.#log.child({ part: 'mosquitto-files' }),
      }));
    }
    if (cfg.sync.broker !== '' && cfg.enrolment.request_file !== '') {
      parts.push(new EnrolmentPart({
        requestFile: cfg.enrolment.request_file,
        nodeName: cfg.node.name,
        org: () => (cfg.org !== '' ? cfg.org : this.#ledger.ledger?.orgId?.toString('hex')),
        brokerUrl: () => (cfg.sync.broker === 'embedded' ? this.#broker?.url : cfg.sync.broker),
        credentials,
        tls: () => {
          const url = cfg.sync.broker === 'embedded' ? this.#broker?.url : cfg.sync.broker;
          return url === undefined ? undefined : tls(url);
        },
        enrolled: () => this.#access.service?.enrolment().enrolled ?? false,
        log: this.#log.child({ part: 'enrolment' }),
      }, cfg.sync.broker === 'embedded' ? ['access', 'broker'] : ['access']));
    }
    if (cfg.http.listen !== '') {
      this.#http = new HttpPart(cfg.http.listen, this.#statusSource());
      parts.push(this.#http);
    }
    this.supervisor = new Supervisor({
      parts, log: this.#log, ...opts.supervisor, onChange: (s, prev) => this.#onPartChange(s, prev),
    });
  }

  get ready(): boolean { return this.#readyMs !== undefined; }
  /** Where the status endpoint listens, once it does. */
  get httpAddress(): { address: string; port: number } | undefined { return this.#http?.address; }

  async start(): Promise<void> {
    this.#loop.enable();
    // loaded_ms: process start to here (Node itself, then loading the bundle); ready_ms follows.
    this.#log.info({ version: AGENT_VERSION, roles: rolesOf(this.config), loaded_ms: Math.round(performance.now()) }, 'gdo agent starting');
    this.#offline.load();
    await this.supervisor.start();
    this.#offline.start();
    if (this.#http?.address) {
      const a = this.#http.address;
      this.#log.info({ http: { address: a.address, port: a.port } }, `status endpoint on http://${a.address}:${a.port}/status`);
    }
    this.#checkReady();
    if (this.#notifier?.enabled) {
      const pingMs = this.#notifier.watchdogIntervalMs;
      this.#watchdog = new Watchdog({
        intervalMs: pingMs ?? 5_000,
        problems: () => this.problems(),
        ping: () => { if (pingMs !== undefined) void this.#notifier?.send({ WATCHDOG: '1' }); },
        onChange: (p) => {
          if (this.ready) void this.#notifier?.send({ STATUS: p.length === 0 ? this.#summary() : `degraded: ${p.join('; ')}` });
          if (p.length > 0) this.#log.warn({ problems: p }, `unhealthy, watchdog not pinged: ${p.join('; ')}`);
        },
      });
      this.#watchdog.start();
    }
  }

  /** Orderly stop (SIGTERM): outputs safe first, then every part in reverse order. Idempotent. */
  stop(reason: string): Promise<void> {
    this.#stopping ??= (async () => {
      this.#log.info({ reason }, `stopping (${reason})`);
      this.#watchdog?.stop();
      this.safeNow();
      const told = this.#notifier?.send({ STOPPING: '1', STATUS: `stopping (${reason})` });
      this.#offline.stop(); // while sync still holds its last contact
      await this.supervisor.stopAll();
      this.#loop.disable();
      await told;
      this.#log.info('stopped: outputs safe, ledger closed');
    })();
    return this.#stopping;
  }

  /** Every output to its safe level, synchronously (exit handlers). */
  safeNow(): void {
    this.#controllers?.safeNow();
  }

  /** Why the agent is not healthy right now; empty when it is. What the watchdog and /health go by. */
  problems(): string[] {
    const out: string[] = [];
    const need = [...(this.#needsGpio ? [this.#gpio.name] : []), this.#ledger.name, this.#access.name, ...(this.#controllers ? [this.#controllers.name] : [])];
    for (const name of need) {
      if (!this.supervisor.isRunning(name)) {
        const s = this.supervisor.status().find((x) => x.name === name)!;
        out.push(`${name} ${s.state}${s.detail ? `: ${s.detail}` : ''}`);
      }
    }
    for (const r of this.#readers) {
      const s = r.status();
      if (s.state !== 'ready') out.push(`reader ${r.id} ${s.state}${s.lastError ? `: ${s.lastError.message}` : ''}`);
    }
    return out;
  }

  health(): { ok: boolean; body: Record<string, unknown> } {
    const problems = this.problems();
    const ok = this.ready && problems.length === 0;
    return { ok, body: { status: ok ? 'ok' : this.ready ? 'degraded' : 'starting', problems } };
  }

  status(): Record<string, unknown> {
    this.supervisor.check(); // parts as they are now, not as of the last periodic check
    const ledger = this.#ledger.ledger;
    const sync = this.#sync?.service?.status();
    const faults = [
      ...this.supervisor.status().filter((p) => p.state !== 'ok').map((p) => ({ part: p.name, state: p.state, ...optional('detail', p.detail) })),
    ];
    return {
      node: {
        name: this.config.node.name, roles: rolesOf(this.config), version: AGENT_VERSION, pid: process.pid,
        started_at: new Date(this.#startedAt).toISOString(), uptime_s: Math.round((Date.now() - this.#startedAt) / 1000),
        ...optional('ready_ms', this.#readyMs),
      },
      ready: this.ready,
      healthy: this.health().ok,
      problems: this.problems(),
      enrolment: this.#access.service?.enrolment() ?? { enrolled: false, reason: ACCESS_UNAVAILABLE },
      parts: this.supervisor.status(),
      faults,
      readers: this.#readers.map((r) => {
        const s = r.status();
        return { id: r.id, transport: r.simulator ? 'simulated' : 'serial', state: s.state, ...optional('last_error', s.lastError), ...optional('firmware', s.firmware) };
      }),
      doors: this.#controllers?.doorStatus() ?? [],
      machines: this.#controllers?.machineStatus() ?? [],
      ledger: ledger ? {
        org: ledger.orgId ? hex(ledger.orgId) : null, events: this.#ledgerEvents(), heads: ledger.heads().length,
        pending: ledger.pendingCount(), state_hash: ledger.stateHash(),
      } : null,
      sync: this.#sync ? {
        broker: this.config.sync.broker === 'embedded' ? `embedded (${this.#broker?.url ?? 'not running'})` : redactUrl(this.config.sync.broker),
        state: sync?.state ?? 'stopped', ...optional('detail', sync?.detail), peers: sync?.peers ?? [],
      } : null,
      offline: {
        ...this.#offline.status(), max_offline_ms: this.config.access.max_offline_ms, policy: this.config.access.offline_policy,
      },
      decisions: this.sink.recent(),
      gpio: { backend: this.config.gpio.backend, ...(this.#gpio.board instanceof FileBackedBoard && { lines: this.#gpio.board.snapshot().lines }) },
    };
  }

  metrics(): string {
    this.supervisor.check();
    const ledger = this.#ledger.ledger;
    return agentMetrics({
      ready: this.ready,
      healthy: this.health().ok,
      sink: this.sink,
      ...(ledger && { ledger: { events: this.#ledgerEvents(), pending: ledger.pendingCount(), stats: ledger.stats, writer: ledger.writerStats } }),
      ...(this.#sync && { sync: this.#sync.service?.status() ?? null }),
      parts: this.supervisor.status(),
      readers: this.#readers.map((r) => ({ id: r.id, up: r.status().state === 'ready' })),
      doors: this.#controllers?.doorStatus() ?? [],
      machines: this.#controllers?.machineStatus() ?? [],
      loop: this.#loop,
      ...(this.#watchdog && { watchdog: { pings: this.#watchdog.pings, skipped: this.#watchdog.skipped } }),
      startedAt: this.#startedAt,
    });
  }

  // ---- wiring ---------------------------------------------------------------------------------

  /** Controllers ask this; it forwards to whatever access service is current. */
  #decider(): AccessDecider {
    return {
      decide: (req): Decision => this.#access.service?.decider.decide(req) ?? { allow: false, reason: ACCESS_UNAVAILABLE },
      checkCertification: (req) => this.#access.service?.decider.checkCertification?.(req)
        ?? { ok: false, reason: ACCESS_UNAVAILABLE, detail: 'the access service is not running' },
      machineState: (id) => this.#access.service?.decider.machineState?.(id),
    };
  }

  #policy(): DoorPolicy {
    // Without the access service there are no schedules: normal mode, locked unless a badge is granted.
    return { mode: (door, at) => this.#access.service?.policy.mode(door, at) ?? 'normal' };
  }

  #onPartChange(s: PartStatus, previous: string): void {
    if (s.name === 'ledger') {
      const up = s.state === 'ok' || s.state === 'degraded';
      const wasUp = previous === 'ok' || previous === 'degraded';
      if (up !== wasUp) this.#eachController((c) => (up ? c.onLedgerRecovered() : c.onLedgerFault(s.detail ?? s.state)));
    }
    this.#checkReady();
  }

  #onReaderStatus(id: string, s: ReaderStatus): void {
    this.#log[s.state === 'ready' ? 'info' : 'warn']({ reader: id, state: s.state, ...optional('error', s.lastError?.message) }, `reader ${id}: ${s.state}`);
    this.supervisor.check();
    this.#checkReady();
  }

  #eachController(fn: (c: { onLedgerFault(d?: string): void; onLedgerRecovered(): void }) => void): void {
    for (const c of this.#controllers?.all() ?? []) {
      try {
        fn(c);
      } catch (err) {
        this.#log.error({ err }, `controller fault handling failed: ${errText(err)}`);
      }
    }
  }

  #checkReady(): void {
    if (this.ready || this.#stopping || this.problems().length > 0) return;
    this.#readyMs = Math.round(performance.now());
    this.#log.info({ ready_ms: this.#readyMs }, 'ready for badges');
    void this.#notifier?.send({ READY: '1', STATUS: this.#summary() });
  }

  #summary(): string {
    const n = (k: number, w: string): string => `${k} ${w}${k === 1 ? '' : 's'}`;
    return `ready: ${[n(this.config.doors.length, 'door'), n(this.config.machines.length, 'machine'), n(this.#readers.length, 'reader')].join(', ')}`;
  }

  #ledgerEvents(): number {
    return this.#ledger.ledger?.count() ?? 0; // one index seek (Store.count)
  }

  #statusSource(): StatusSource {
    const simulated = this.config.gpio.backend === 'fake' || this.config.readers.some((r) => r.transport === 'simulated');
    return {
      health: () => this.health(),
      status: () => this.status(),
      metrics: () => this.metrics(),
      sim: simulated ? simControl(this.#readers, () => this.#gpio.board) : undefined,
    };
  }


}

/** { [key]: value } when value is defined, else {} (for spreading optional fields). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
