// Turns the stream of poll results into presentation events: one 'card' per presentation, and
// 'card-removed' once the card has been missing for `removalPolls` polls in a row (a card at the
// edge of the field drops out of single polls). UIDs are kept here and never logged.
import type { TargetA } from './commands.ts';

export interface CardEvent {
  uid: Buffer;
  /** SENS_RES / ATQA, big-endian as reported by the PN532. */
  atqa: number;
  /** SEL_RES / SAK. */
  sak: number;
  /** ATS including TL, for ISO/IEC 14443-4 cards. */
  ats?: Buffer;
}

export interface CardRemovedEvent {
  uid: Buffer;
  /** 'fault': the reader failed, so presence can no longer be confirmed (card-present mode must stop). */
  reason: 'removed' | 'replaced' | 'fault';
}

export type PresenceChange = { type: 'card'; event: CardEvent } | { type: 'card-removed'; event: CardRemovedEvent };

export class CardPresence {
  private readonly removalPolls: number;
  private current: CardEvent | undefined;
  private misses = 0;

  constructor(removalPolls: number) {
    this.removalPolls = Math.max(1, removalPolls);
  }

  get present(): boolean {
    return this.current !== undefined;
  }

  /** Result of one successful poll: the first target, or none. */
  observe(target: TargetA | undefined): PresenceChange[] {
    if (!target) {
      if (!this.current || ++this.misses < this.removalPolls) return [];
      return [this.drop('removed')];
    }
    this.misses = 0;
    if (this.current?.uid.equals(target.uid)) return [];
    const changes: PresenceChange[] = this.current ? [this.drop('replaced')] : [];
    const event: CardEvent = { uid: Buffer.from(target.uid), atqa: target.atqa, sak: target.sak };
    if (target.ats) event.ats = Buffer.from(target.ats);
    this.current = event;
    changes.push({ type: 'card', event: copy(event) });
    return changes;
  }

  /** The reader failed: a present card can no longer be vouched for. */
  fault(): PresenceChange[] {
    return this.current ? [this.drop('fault')] : [];
  }

  private drop(reason: CardRemovedEvent['reason']): PresenceChange {
    const uid = Buffer.from(this.current!.uid);
    this.current = undefined;
    this.misses = 0;
    return { type: 'card-removed', event: { uid, reason } };
  }
}

function copy(event: CardEvent): CardEvent {
  const out: CardEvent = { uid: Buffer.from(event.uid), atqa: event.atqa, sak: event.sak };
  if (event.ats) out.ats = Buffer.from(event.ats);
  return out;
}
