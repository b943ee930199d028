// A minimal typed event emitter. A listener that throws is reported to `onListenerError` instead of
// breaking the emitter's owner (a dapp's bug must not stop the reader, docs/design-notes.md habit 5).

export class TypedEmitter<Events extends object> {
  private readonly listeners = new Map<keyof Events, Set<(payload: never) => void>>();
  private readonly onListenerError: (event: string, err: unknown) => void;

  constructor(onListenerError: (event: string, err: unknown) => void = () => undefined) {
    this.onListenerError = onListenerError;
  }

  on<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  once<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  off<K extends keyof Events>(event: K, listener: (payload: Events[K]) => void): void {
    this.listeners.get(event)?.delete(listener);
  }

  protected emit<K extends keyof Events>(event: K, payload: Events[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set] as Array<(payload: Events[K]) => void>) {
      try {
        listener(payload);
      } catch (err) {
        this.onListenerError(String(event), err);
      }
    }
  }
}
