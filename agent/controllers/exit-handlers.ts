// Process handlers that drive outputs safe synchronously before the process goes away: SIGTERM/SIGINT
// (systemd stop), uncaught exceptions (including unhandled rejections, which Node 20 raises as uncaught
// exceptions) and 'exit' (any process.exit). Synchronous on purpose: after an uncaught exception nothing
// asynchronous can be trusted to run. ExecStopPost=`gdo gpio safe` covers what this cannot (SIGKILL, OOM).

export interface ProcessLike {
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  exit(code?: number): void;
}

export interface SafeExitOptions {
  /** Each drives some outputs safe; all are called even when one throws. e.g. () => door.safeNow() */
  safe: (() => void)[];
  /** Default: the real process. */
  proc?: ProcessLike;
  /**
   * Called after the outputs are safe on SIGTERM/SIGINT, for the agent's orderly shutdown (it must exit
   * itself). Default: exit(0) at once.
   */
  onSignal?: (signal: string) => void;
  /** Logs the fatal error (synchronously, e.g. pino's final logger). Default: console.error. */
  onFatal?: (err: unknown) => void;
}

/** Installs the handlers; returns the function that removes them. */
export function installSafeExitHandlers(opts: SafeExitOptions): () => void {
  const proc: ProcessLike = opts.proc ?? (process as unknown as ProcessLike);
  const driveSafe = (): void => {
    for (const fn of opts.safe) {
      try {
        fn();
      } catch {
        // Keep going: the next output matters as much, and ExecStopPost retries from outside.
      }
    }
  };
  const onSignal = (signal: unknown): void => {
    driveSafe();
    if (opts.onSignal) opts.onSignal(String(signal));
    else proc.exit(0);
  };
  const onFatal = (err: unknown): void => {
    driveSafe();
    try {
      (opts.onFatal ?? ((e: unknown) => console.error(e)))(err);
    } finally {
      proc.exit(1);
    }
  };
  const onExit = (): void => driveSafe();
  const handlers: [string, (...args: unknown[]) => void][] = [
    ['SIGTERM', onSignal], ['SIGINT', onSignal], ['uncaughtException', onFatal], ['exit', onExit],
  ];
  for (const [event, fn] of handlers) proc.on(event, fn);
  return () => { for (const [event, fn] of handlers) proc.off(event, fn); };
}
