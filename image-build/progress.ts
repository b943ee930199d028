// Progress reporting: buildImage calls a plain callback; consoleProgress() is the display the CLI uses.

export type BuildPhase =
  | 'check' | 'decompress' | 'runtime' | 'addons' | 'payload' | 'extract' | 'check-base'
  | 'grow' | 'rootfs' | 'bootfs' | 'verify' | 'write' | 'publish' | 'done';

export interface ProgressEvent {
  phase: BuildPhase;
  message: string;
  /** Bytes (or steps) done and total, for phases that can say. */
  done?: number;
  total?: number;
}

export type ProgressFn = (event: ProgressEvent) => void;

/** A line per phase on `stream` (stderr by default), with a percentage for byte-counting phases that
 *  updates at most every 5 %. */
export function consoleProgress(stream: NodeJS.WritableStream = process.stderr): ProgressFn {
  let lastPhase: BuildPhase | undefined;
  let lastPct = -1;
  return (e) => {
    if (e.done !== undefined && e.total !== undefined && e.total > 0) {
      const pct = Math.floor((e.done / e.total) * 100);
      if (e.phase === lastPhase && pct < lastPct + 5 && pct !== 100) return;
      lastPct = pct;
      lastPhase = e.phase;
      stream.write(`[gdo image] ${e.message} ${pct}%\n`);
      return;
    }
    lastPhase = e.phase;
    lastPct = -1;
    stream.write(`[gdo image] ${e.message}\n`);
  };
}
