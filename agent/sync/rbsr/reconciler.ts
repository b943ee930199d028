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
  /**
   * Responder settlement (docs/sync-protocol.md 1.14): a responder that holds at most this many
   * items in a range the peer sent as an IdList resolves the range itself, answers Skip and
   * reports `have` (its ids the peer lacks, which it then sends as events) and `need` with
   * `needIndexes` (positions of the listed ids it lacks). 0, the default, is the plain protocol.
   * Both sides must agree on it: the MQTT layer always uses it.
   */
  settleMax?: number;
  /** Most items a responder settles per frame (the events it then sends). Default 8 * settleMax. */
  settleFrameMax?: number;
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
  /**
   * Responder with settlement: for each id in `need`, its 0-based position among all ids of the
   * IdList ranges of the frame just received, ascending. Sent back so the initiator learns its
   * `have` without the ids being repeated (docs/sync-protocol.md 1.14).
   */
  needIndexes?: number[];
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
  private readonly settleMax: number;
  private readonly settleFrameMax: number;
  /** Responder: items settled in the frame being answered. */
  private settledInFrame = 0;
  /** Initiator: the ids of the IdList ranges of the frame it sent last, which needIndexes refer to. */
  private sentIds: Buffer[] = [];

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
    this.settleMax = opts.settleMax ?? 0;
    this.settleFrameMax = opts.settleFrameMax ?? 8 * this.settleMax;
    if (!Number.isInteger(this.settleMax) || this.settleMax < 0) {
      throw new RbsrError('RBSR_CONFIG', `settleMax must be a non-negative integer, got ${this.settleMax}`);
    }
    if (!Number.isInteger(this.settleFrameMax) || this.settleFrameMax < this.settleMax) {
      throw new RbsrError('RBSR_CONFIG', `settleFrameMax must be an integer >= settleMax (${this.settleMax}), got ${this.settleFrameMax}`);
    }
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
    return this.sent(w.finish());
  }

  /**
   * Processes a peer frame. The first call on an idle reconciler makes it the responder.
   * An initiator passes the responder's `needIndexes` along with its reply; they name ids of
   * the initiator's previous frame and are reported in `have`.
   */
  reconcile(frame: Buffer, peerNeedIndexes: readonly number[] = []): ReconcileResult {
    if (this.role === 'initiator' && !this.awaitingReply) {
      throw new RbsrError('RBSR_STATE', 'initiator received a frame while not awaiting a reply');
    }
    if (this.role !== 'initiator' && peerNeedIndexes.length > 0) {
      throw new RbsrError('RBSR_STATE', 'only an initiator receives need indexes');
    }
    // Decode and check before changing state: a bad frame leaves the session as it was.
    const ranges = decodeFrame(frame);
    const settledHave = this.idsAt(peerNeedIndexes);
    if (this.role === 'idle') this.role = 'responder';
    this.awaitingReply = false;
    this.settledInFrame = 0;
    const result: ReconcileResult = { have: [], need: [], done: false };
    for (const id of settledHave) this.report(id, result.have);
    if (this.role === 'responder' && this.settleMax > 0) result.needIndexes = [];
    let idBase = 0;
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
      const base = idBase;
      if (range.mode === 'idlist') idBase += range.ids.length;
      // Settling writes only a Skip, so it never overflows the frame and is never rolled back.
      if (this.trySettle(range, lower, base, w, result)) {
        lower = range.upper;
        continue;
      }
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
      this.sentIds = [];
      if (!result.done) {
        result.reply = this.sent(w.finish());
        this.awaitingReply = true;
      }
    } else {
      result.reply = w.finish();
      result.done = !w.hasContent;
    }
    return result;
  }

  /**
   * Responder settlement (1.14): resolves a peer's IdList range here when we hold few enough
   * items in it, so neither side sends the ids again. Returns false when the range is answered
   * the plain way.
   */
  private trySettle(range: Range, lower: Bound, base: number, w: FrameWriter, result: ReconcileResult): boolean {
    if (range.mode !== 'idlist' || this.role !== 'responder' || this.settleMax === 0) return false;
    const count = this.source.count(lower, range.upper);
    if (count > this.settleMax || this.settledInFrame + count > this.settleFrameMax) return false;
    this.settledInFrame += count;
    const mine = this.source.ids(lower, range.upper);
    const myKeys = new Set(mine.map(key));
    const theirKeys = new Set<string>();
    range.ids.forEach((id, i) => {
      const k = key(id);
      if (theirKeys.has(k)) return;
      theirKeys.add(k);
      if (!myKeys.has(k)) {
        result.need.push(Buffer.from(id));
        result.needIndexes!.push(base + i);
      }
    });
    for (const id of mine) if (!theirKeys.has(key(id))) result.have.push(Buffer.from(id));
    w.skip(range.upper);
    return true;
  }

  /** Remembers the ids of the IdList ranges of a frame we send: needIndexes refer to them. */
  private sent(frame: Buffer): Buffer {
    if (this.settleMax === 0) return frame;
    const ids: Buffer[] = [];
    for (const r of decodeFrame(frame)) if (r.mode === 'idlist') ids.push(...r.ids);
    this.sentIds = ids;
    return frame;
  }

  /** The ids of our previous frame at the peer's need indexes; bad indexes reject the reply. */
  private idsAt(indexes: readonly number[]): Buffer[] {
    const out: Buffer[] = [];
    let prev = -1;
    for (const i of indexes) {
      if (!Number.isInteger(i) || i <= prev || i >= this.sentIds.length) {
        throw new RbsrError('RBSR_BAD_FRAME', `need index ${i} is not ascending within the ${this.sentIds.length} ids of our last frame`);
      }
      prev = i;
      out.push(this.sentIds[i]!);
    }
    return out;
  }

  private report(id: Buffer, into: Buffer[]): void {
    const k = key(id);
    if (this.reported.has(k)) return;
    this.reported.add(k);
    into.push(Buffer.from(id));
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
