// One side of a range-based set reconciliation session (Negentropy-style). The initiator
// learns which ids only it has (`have`) and which only the peer has (`need`); the responder
// answers frames and learns nothing itself. See docs/sync-protocol.md.
import { RbsrError } from './errors.ts';
import { type Bound, MAX_BOUND, MIN_BOUND } from './item.ts';
import type { ItemSource } from './item-source.ts';
import { FrameWriter, type Range, decodeFrame } from './frame.ts';
import { cutBounds, recentCuts, uniformCuts } from './split.ts';

export interface ReconcilerOptions {
  /** Largest frame this side sends, in bytes. Default 64 KiB; at least 4096. */
  frameSizeLimit?: number;
  /** Sub-ranges per split. Default 16. */
  buckets?: number;
  /** A differing range with at most this many of our items is answered with its ids. Default 32. */
  idListThreshold?: number;
}

export interface ReconcileResult {
  /** Frame to send to the peer; absent when the initiator is done. */
  reply?: Buffer;
  /** Ids we hold that the peer lacks, found in this step (initiator only). */
  have: Buffer[];
  /** Ids the peer holds that we lack, found in this step (initiator only). */
  need: Buffer[];
  /** Initiator: reconciliation finished. Responder: this reply closes the session. */
  done: boolean;
}

export const DEFAULT_FRAME_SIZE_LIMIT = 64 * 1024;
const MIN_FRAME_SIZE_LIMIT = 4096;
/** Room kept for the closing "everything else" fingerprint range: two bounds and a fingerprint. */
const RESERVE = 128;
/** Worst-case bytes of one Fingerprint range (bound <= 45, mode 1, fingerprint 16). */
const MAX_FINGERPRINT_RANGE = 62;

export class Reconciler {
  private role: 'idle' | 'initiator' | 'responder' = 'idle';
  private awaitingReply = false;
  private readonly limit: number;
  private readonly buckets: number;
  private readonly idListThreshold: number;
  /** Responder: answers a peer's id list with its own up to this many ids, else splits. */
  private readonly idListReplyMax: number;
  /** Ids already reported, so a range re-opened after a deferral is not reported twice. */
  private readonly reported = new Set<string>();

  constructor(private readonly source: ItemSource, opts: ReconcilerOptions = {}) {
    this.limit = opts.frameSizeLimit ?? DEFAULT_FRAME_SIZE_LIMIT;
    this.buckets = opts.buckets ?? 16;
    this.idListThreshold = opts.idListThreshold ?? 32;
    if (!Number.isInteger(this.limit) || this.limit < MIN_FRAME_SIZE_LIMIT) {
      throw new RbsrError('RBSR_CONFIG', `frameSizeLimit must be an integer >= ${MIN_FRAME_SIZE_LIMIT}, got ${this.limit}`);
    }
    if (!Number.isInteger(this.buckets) || this.buckets < 2 || this.buckets > 64) {
      throw new RbsrError('RBSR_CONFIG', `buckets must be an integer 2..64, got ${this.buckets}`);
    }
    // Any single chunk (one id list or one split) must fit an empty frame, so every frame
    // makes progress and a session always ends.
    const room = this.limit - 1 - RESERVE - MAX_FINGERPRINT_RANGE;
    const maxIds = Math.floor(room / 32);
    if (!Number.isInteger(this.idListThreshold) || this.idListThreshold < 1 || this.idListThreshold > maxIds) {
      throw new RbsrError('RBSR_CONFIG', `idListThreshold must be an integer 1..${maxIds} for this frameSizeLimit, got ${this.idListThreshold}`);
    }
    if (this.buckets * MAX_FINGERPRINT_RANGE > room) {
      throw new RbsrError('RBSR_CONFIG', `buckets ${this.buckets} do not fit a frame of ${this.limit} bytes`);
    }
    this.idListReplyMax = Math.max(this.idListThreshold, Math.min(4 * this.idListThreshold, maxIds));
  }

  /** Starts a session as initiator and returns the first frame. */
  initiate(): Buffer {
    if (this.role !== 'idle') throw new RbsrError('RBSR_STATE', `initiate() on a reconciler that is already ${this.role}`);
    this.role = 'initiator';
    this.awaitingReply = true;
    const w = new FrameWriter();
    const n = this.source.size();
    if (n <= this.idListThreshold) {
      w.add({ upper: MAX_BOUND, mode: 'idlist', ids: this.source.ids(MIN_BOUND, MAX_BOUND) });
    } else {
      this.writeSplit(w, MIN_BOUND, MAX_BOUND, recentCuts(n, this.buckets, this.idListThreshold));
    }
    return w.finish();
  }

  /** Processes a peer frame. The first call on an idle reconciler makes it the responder. */
  reconcile(frame: Buffer): ReconcileResult {
    if (this.role === 'initiator' && !this.awaitingReply) {
      throw new RbsrError('RBSR_STATE', 'initiator received a frame while not awaiting a reply');
    }
    // Decode before changing state: a bad frame leaves the session as it was.
    const ranges = decodeFrame(frame);
    if (this.role === 'idle') this.role = 'responder';
    this.awaitingReply = false;
    const result: ReconcileResult = { have: [], need: [], done: false };
    const w = new FrameWriter();
    // Full answers (id lists, splits) may fill the frame up to chunkBudget. After that the
    // rest of the frame is only echoed: ranges that match or that the initiator can settle
    // still cost nothing, and every other range goes back as one fingerprint of ours, so
    // the peer keeps the fine ranges it already has and answers them next round.
    const chunkBudget = this.limit - RESERVE - Math.floor(this.limit / 8);
    let echoing = false;
    let lower: Bound = MIN_BOUND;
    for (const range of ranges) {
      const mark = w.mark();
      if (!echoing) {
        this.answer(range, lower, w, result, false);
        // Progress is certain: the first answered range is always kept.
        if (mark.content === 0 || w.length <= chunkBudget) {
          lower = range.upper;
          continue;
        }
        w.rollback(mark);
        echoing = true;
      }
      this.answer(range, lower, w, result, true);
      if (w.length > this.limit - RESERVE) {
        // Not even the echoes fit: hand back everything from here as one fingerprint.
        w.rollback(mark);
        w.add({ upper: MAX_BOUND, mode: 'fingerprint', fingerprint: this.source.fingerprint(lower, MAX_BOUND) });
        break;
      }
      lower = range.upper;
    }
    if (this.role === 'initiator') {
      result.done = !w.hasContent;
      if (!result.done) {
        result.reply = w.finish();
        this.awaitingReply = true;
      }
    } else {
      result.reply = w.finish();
      result.done = !w.hasContent;
    }
    return result;
  }

  /** Writes our answer to one range; with `echo`, a fingerprint of ours instead of ids or a split. */
  private answer(range: Range, lower: Bound, w: FrameWriter, result: ReconcileResult, echo: boolean): void {
    const upper = range.upper;
    switch (range.mode) {
      case 'skip':
        w.skip(upper);
        return;
      case 'fingerprint': {
        const mine = this.source.fingerprint(lower, upper);
        if (mine.equals(range.fingerprint)) {
          w.skip(upper);
          return;
        }
        if (echo) {
          w.add({ upper, mode: 'fingerprint', fingerprint: mine });
          return;
        }
        const count = this.source.count(lower, upper);
        if (count <= this.idListThreshold) w.add({ upper, mode: 'idlist', ids: this.source.ids(lower, upper) });
        else this.writeSplit(w, lower, upper, uniformCuts(count, this.buckets));
        return;
      }
      case 'idlist': {
        if (this.role === 'initiator') {
          this.settle(range.ids, this.source.ids(lower, upper), result);
          w.skip(upper);
          return;
        }
        const count = this.source.count(lower, upper);
        if (echo && count > this.idListReplyMax) {
          w.add({ upper, mode: 'fingerprint', fingerprint: this.source.fingerprint(lower, upper) });
          return;
        }
        if (count > this.idListReplyMax) {
          this.writeSplit(w, lower, upper, uniformCuts(count, this.buckets));
          return;
        }
        const mine = this.source.ids(lower, upper);
        if (sameIds(mine, range.ids)) w.skip(upper);
        else if (echo) w.add({ upper, mode: 'fingerprint', fingerprint: this.source.fingerprint(lower, upper) });
        else w.add({ upper, mode: 'idlist', ids: mine });
        return;
      }
    }
  }

  private writeSplit(w: FrameWriter, lower: Bound, upper: Bound, cuts: readonly number[]): void {
    let lo = lower;
    for (const hi of cutBounds(this.source, lower, upper, cuts)) {
      w.add({ upper: hi, mode: 'fingerprint', fingerprint: this.source.fingerprint(lo, hi) });
      lo = hi;
    }
  }

  /** Initiator: the peer's ids for a range against ours give have and need directly. */
  private settle(theirs: readonly Buffer[], mine: readonly Buffer[], result: ReconcileResult): void {
    const theirKeys = new Set(theirs.map(key));
    const myKeys = new Set<string>();
    for (const id of mine) {
      const k = key(id);
      myKeys.add(k);
      if (!theirKeys.has(k) && !this.reported.has(k)) {
        this.reported.add(k);
        result.have.push(Buffer.from(id));
      }
    }
    for (const id of theirs) {
      const k = key(id);
      if (!myKeys.has(k) && !this.reported.has(k)) {
        this.reported.add(k);
        result.need.push(Buffer.from(id));
      }
    }
  }
}

function key(id: Buffer): string {
  return id.toString('latin1');
}

function sameIds(mine: readonly Buffer[], theirs: readonly Buffer[]): boolean {
  if (mine.length !== theirs.length) return false;
  const set = new Set(theirs.map(key));
  return set.size === mine.length && mine.every((id) => set.has(key(id)));
}
