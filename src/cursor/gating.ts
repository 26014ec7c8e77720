import * as L from '../layout.js';
import { openSlot } from '../registry.js';
import { Cursor, type CursorSetup } from './cursor.js';

/** A reader that sees every event and holds producers back until it has consumed it. */
export class GatingCursor<T> extends Cursor<T> {
  constructor(setup: CursorSetup, start: number, takeover: boolean) {
    super(setup, openSlot(setup.ring, setup.name, { kind: L.KIND_GATING, group: L.NO_SLOT, start, takeover, owner: setup.owner }), L.NO_SLOT, false);
  }

  protected available(max: number): number {
    return this.ring.core.available(this.slot, max, this.depLimit());
  }
}
