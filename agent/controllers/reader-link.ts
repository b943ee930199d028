// Wires the reader's health to the controllers it serves: while the PN532 poller is in 'fault' or
// 'disconnected', every door and machine on it is told onReaderFault() (door locked, machine off, fault in
// their status and in the ledger); back in 'ready', onReaderRecovered(). A reader that babbles garbage or
// vanishes for minutes therefore leaves the door locked and the fault visible (issue 4, "Bad input").
// Structural types, so the Pn532Poller fits and tests can pass a plain emitter.

export interface ReaderState {
  state: string;
  lastError?: { code: string; message: string };
}

export interface ReaderHealthSource {
  status(): ReaderState;
  on(event: 'status', listener: (status: ReaderState) => void): unknown;
  off(event: 'status', listener: (status: ReaderState) => void): unknown;
}

export interface ReaderFaultTarget {
  onReaderFault(detail?: string): void;
  onReaderRecovered(): void;
}

/** Poller states that mean no card can be read. 'starting' is not one: it is brief and always ends in one. */
const FAULT_STATES = new Set(['fault', 'disconnected']);

/** Applies the reader's current state now and on every change; returns the function that unlinks. */
export function linkReaderFaults(reader: ReaderHealthSource, targets: readonly ReaderFaultTarget[]): () => void {
  const apply = (s: ReaderState): void => {
    if (FAULT_STATES.has(s.state)) {
      const detail = s.lastError ? `${s.state}: ${s.lastError.code}: ${s.lastError.message}` : s.state;
      for (const t of targets) t.onReaderFault(detail);
    } else if (s.state === 'ready') {
      for (const t of targets) t.onReaderRecovered();
    }
  };
  apply(reader.status());
  reader.on('status', apply);
  return () => { reader.off('status', apply); };
}
