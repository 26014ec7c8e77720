import * as L from './layout.js';
import { slotGroup, slotKind } from './registry.js';
import type { Ring } from './ring.js';
import type { ReaderStats } from './types.js';

export type { ReaderStats } from './types.js';

const KIND_NAMES: Record<number, ReaderStats['kind']> = {
  [L.KIND_GATING]: 'reader',
  [L.KIND_LOSSY]: 'lossy reader',
  [L.KIND_GROUP]: 'consumer group',
  [L.KIND_MEMBER]: 'group member',
  [L.KIND_KEYED_GROUP]: 'keyed group',
  [L.KIND_KEYED_MEMBER]: 'keyed member',
};

export function readerStats(ring: Ring, slot: number, name: string): ReaderStats {
  const core = ring.core;
  const kind = slotKind(ring, slot);
  const tail = core.tailPosition();
  const claimed = core.counter(L.H_NEXT_SEQ);
  let consumed = core.slotCounter(slot, L.S_CONSUMED);
  let lagBytes = 0;
  let lagEvents = 0;
  if (kind === L.KIND_LOSSY) {
    lagBytes = Math.max(0, tail - core.cursor(slot));
    lagEvents = Math.max(0, claimed - core.slotCounter(slot, L.S_NEXT_SEQ));
  } else if (kind !== L.KIND_MEMBER) {
    const at = core.holdPosition(slot);
    lagBytes = Math.max(0, tail - at);
    lagEvents = Math.max(0, claimed - core.seqFromPosition(at));
  }
  if (kind === L.KIND_GROUP || kind === L.KIND_KEYED_GROUP) {
    const members = kind === L.KIND_GROUP ? L.KIND_MEMBER : L.KIND_KEYED_MEMBER;
    for (let member = 0; member < ring.maxReaders; member++) {
      if (slotKind(ring, member) === members && slotGroup(ring, member) === slot) {
        consumed += core.slotCounter(member, L.S_CONSUMED);
      }
    }
  }
  return {
    name,
    kind: KIND_NAMES[kind] ?? 'reader',
    lagBytes,
    lagEvents,
    consumed,
    missed: core.slotCounter(slot, L.S_MISSED),
    waitMs: core.slotCounter(slot, L.S_WAIT_NS) / 1e6,
  };
}
