// Orders raw events by their clock without decoding them (docs/ledger-format.md, "Encoding":
// the HLC follows the fixed header and the parent list). Parents are dated before their
// children, so ingesting in this order parks nothing as pending. Malformed bytes sort last;
// the ledger's ingest rejects them.
const PARENT_COUNT_AT = 1 + 32 + 32 + 4 + 32;

function clockOf(raw: Buffer): [number, number] {
  if (raw.length < PARENT_COUNT_AT + 1) return [Infinity, 0];
  const at = PARENT_COUNT_AT + 1 + 32 * raw[PARENT_COUNT_AT]!;
  if (raw.length < at + 8) return [Infinity, 0];
  return [raw.readUIntBE(at, 6), raw.readUInt16BE(at + 6)];
}

export function sortByClock(raws: Buffer[]): Buffer[] {
  const keyed = raws.map((r) => ({ r, k: clockOf(r) }));
  // Batches usually arrive in order already (senders sort them): then skip the sort.
  let sorted = true;
  for (let i = 1; i < keyed.length && sorted; i++) {
    const a = keyed[i - 1]!.k;
    const b = keyed[i]!.k;
    if (a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])) sorted = false;
  }
  if (sorted) return raws;
  keyed.sort((a, b) => (a.k[0] - b.k[0]) || (a.k[1] - b.k[1]) || Buffer.compare(a.r, b.r));
  return keyed.map((x) => x.r);
}
