import { InvalidOptionError } from '../errors.js';
import { topicsPrint } from '../keyed.js';
import { openMember } from '../registry.js';
import { Cursor, type CursorSetup } from './cursor.js';

/**
 * A member of a consumer group: it takes batches off the group's cursor, so each event
 * goes to exactly one member. A batch taken is finished before another is taken.
 */
export class MemberCursor<T> extends Cursor<T> {
  constructor(setup: CursorSetup, group: string, start: number, takeover: boolean) {
    const [groupSlot, slot] = openMember(setup.ring, group, setup.name, {
      start,
      takeover,
      owner: setup.owner,
      topics: topicsPrint(setup.filter, setup.ring.topics.length),
    });
    super(setup, slot, groupSlot, false);
  }

  protected available(max: number): number {
    if (this.pending > 0) return this.pending;
    const core = this.ring.core;
    const pending = core.memberPending(this.slot) || core.groupClaim(this.slot, this.group, max, this.depLimit());
    if (pending > 0) {
      this.index = core.cursorIndex(this.slot);
      this.position = core.cursor(this.slot);
    }
    return pending;
  }

  protected claimFloor(): number {
    return this.ring.core.cursor(this.group);
  }

  protected head(): number {
    return this.ring.core.holdPosition(this.group);
  }

  consume(bytes: number, events: number, nextSeq: number): void {
    if (this.takenOver) return;
    super.consume(bytes, events, nextSeq);
    if (bytes > 0 && this.pending === 0) this.ring.core.memberDone(this.slot, 0);
  }

  refuseUnsubscribe(): void {
    if (this.ring.core.memberPending(this.slot) > 0) {
      throw new InvalidOptionError(
        `member "${this.name}" still holds a batch that no other member will get; poll() it to the end first, or close() to leave it for a member opened with the same name`,
      );
    }
  }
}
