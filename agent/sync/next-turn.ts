// The pause sync takes between slices of its own work: the rest of this turn of the event loop
// and whatever it queued (a badge's decision, a message from the writer thread) go first.
export const nextTurn = (): Promise<void> => new Promise((r) => setImmediate(r));
