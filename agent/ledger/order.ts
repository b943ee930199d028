// The fold order (docs/ledger-format.md, "Fold order"): Kahn's topological sort that, among the
// events whose dependencies are all placed, takes power events first, then the lowest
// (hlc, id). It depends on the DAG alone, never on arrival order, so every node holding the
// same events folds them in the same order; and the order of a prefix never changes when
// events are added, so a merge only re-folds from the first position it touches.
export interface OrderNode {
  key: string;
  power: boolean;
  hlcMs: number;
  hlcC: number;
  id: Buffer;
  /** Keys of dependencies inside the window being ordered (outside ones are already placed). */
  deps: string[];
}

export function comparePriority(a: OrderNode, b: OrderNode): number {
  if (a.power !== b.power) return a.power ? -1 : 1;
  if (a.hlcMs !== b.hlcMs) return a.hlcMs - b.hlcMs;
  if (a.hlcC !== b.hlcC) return a.hlcC - b.hlcC;
  return Buffer.compare(a.id, b.id);
}

class Heap<T> {
  private readonly a: T[] = [];
  constructor(private readonly less: (x: T, y: T) => boolean) {}
  get size(): number { return this.a.length; }
  push(x: T): void {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }
  pop(): T | undefined {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.less(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.less(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Orders a window of events. Throws if the window's dependencies form a cycle (cannot happen for hashed events). */
export function foldOrder<T extends OrderNode>(nodes: T[]): T[] {
  const byKey = new Map<string, T>();
  for (const n of nodes) byKey.set(n.key, n);
  const indeg = new Map<string, number>();
  const children = new Map<string, T[]>();
  for (const n of nodes) {
    let d = 0;
    for (const k of n.deps) {
      if (!byKey.has(k)) continue;
      d++;
      let list = children.get(k);
      if (!list) children.set(k, (list = []));
      list.push(n);
    }
    indeg.set(n.key, d);
  }
  const heap = new Heap<T>((x, y) => comparePriority(x, y) < 0);
  for (const n of nodes) if (indeg.get(n.key) === 0) heap.push(n);
  const out: T[] = [];
  for (let n = heap.pop(); n; n = heap.pop()) {
    out.push(n);
    for (const c of children.get(n.key) ?? []) {
      const d = indeg.get(c.key)! - 1;
      indeg.set(c.key, d);
      if (d === 0) heap.push(c);
    }
  }
  if (out.length !== nodes.length) throw new Error('fold order: dependency cycle in window');
  return out;
}
