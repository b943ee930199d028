// `gdo agent`: the daemon in this process, with the process-level safety net around it. Signals
// (SIGTERM from systemd, SIGINT from a terminal) drive outputs safe synchronously and then stop the parts
// in order; an uncaught exception or unhandled rejection drives outputs safe and exits non-zero at once
// (agent/controllers/exit-handlers.ts); systemd's ExecStopPost=`gdo gpio safe` covers SIGKILL and OOM.
import { installSafeExitHandlers } from '../controllers/exit-handlers.ts';
import type { AgentConfig, LogLevel } from './config/index.ts';
import { Daemon, type DaemonOptions } from './daemon.ts';
import { createLogger, errText } from './log.ts';
import { SystemdNotifier } from './notify.ts';

/** A stop that takes longer than this is abandoned with exit 1 (outputs are already safe by then). */
const STOP_TIMEOUT_MS = 10_000;

export interface RunAgentOptions {
  config: AgentConfig;
  logLevel?: LogLevel;
  /** Factory hooks (default: parts/access.ts, parts/sync.ts). */
  hooks?: Pick<DaemonOptions, 'access' | 'sync' | 'broker'>;
}

/** Runs until a signal stops it; resolves with the exit code. */
export async function runAgent(opts: RunAgentOptions): Promise<number> {
  const log = createLogger({ level: opts.logLevel ?? opts.config.log.level, base: { node: opts.config.node.name } });
  const notifier = new SystemdNotifier({ log });
  const daemon = new Daemon({ config: opts.config, log, notifier, ...opts.hooks });
  let finish: (code: number) => void = () => undefined;
  const exited = new Promise<number>((resolve) => { finish = resolve; });
  const remove = installSafeExitHandlers({
    safe: [() => daemon.safeNow()],
    onSignal: (signal) => {
      const timer = setTimeout(() => {
        log.error(`stop took over ${STOP_TIMEOUT_MS} ms; exiting with outputs safe`);
        finish(1);
      }, STOP_TIMEOUT_MS);
      timer.unref();
      daemon.stop(signal).then(() => finish(0), (err: unknown) => {
        log.error({ err }, `stop failed: ${errText(err)}`);
        finish(1);
      });
    },
    onFatal: (err) => log.fatal({ err }, `uncaught error, outputs driven safe, exiting: ${errText(err)}`),
  });
  try {
    await daemon.start();
    return await exited;
  } finally {
    remove();
  }
}
