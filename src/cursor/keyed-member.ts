import { joinKeyed, KeyedView, leaveKeyed, topicsPrint } from '../keyed.js';
import { Cursor, type CursorSetup } from './cursor.js';

/**
 * A member of a keyed group: it reads the whole ring with a gating cursor of its own and
 * delivers the events of the partitions it owns (src/keyed.ts keeps the partition table).
 */
export class KeyedMemberCursor<T> extends Cursor<T> {
  private readonly view: KeyedView;

  constructor(setup: CursorSetup, group: string, start: number, takeover: boolean) {
    const joined = joinKeyed(setup.ring, group, setup.name, {
      start,
      takeover,
      owner: setup.owner,
      topics: topicsPrint(setup.filter, setup.ring.topics.length),
    });
    // It also waits on the cursor futex for its peers to pass a hand-over.
    super(setup, joined.slot, joined.group, true);
    this.view = new KeyedView(setup.ring, setup.name, joined.group, joined.slot, joined.block);
    this.partitions = this.view;
  }

  protected available(max: number): number {
    const core = this.ring.core;
    if (this.view.prepare()) {
      this.position = core.cursor(this.slot);
      this.index = core.cursorIndex(this.slot);
    }
    const limit = this.view.limit();
    const deps = this.depLimit();
    const pending = core.available(this.slot, max, limit < 0 ? deps : deps < 0 ? limit : Math.min(limit, deps));
    return this.view.current() ? pending : 0; // the table changed meanwhile: read again by the new one
  }

  protected release(): void {
    leaveKeyed(this.ring, this.group, this.slot, this.owner);
  }
}
