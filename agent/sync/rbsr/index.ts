// Public surface of the reconciliation core.
export { RbsrError, type RbsrErrorCode } from './errors.ts';
export { type Bound, type Hlc, type Item, ID_BYTES, MAX_BOUND, MIN_BOUND, compareItems, compareItemToBound } from './item.ts';
export type { ItemSource } from './item-source.ts';
export { FINGERPRINT_BYTES, IdSum, fingerprintOf } from './fingerprint.ts';
export { MemoryItemSource } from './memory-source.ts';
export { DEFAULT_FRAME_SIZE_LIMIT, type ReconcileResult, Reconciler, type ReconcilerOptions } from './reconciler.ts';
export { PROTOCOL_VERSION, type Range, decodeFrame } from './frame.ts';
export { type SessionStats, reconcileInProcess } from './loopback.ts';
