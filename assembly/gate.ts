// Gating. Producers may write up to gate + capacity, where gate is the minimum cursor of
// the gating readers. Computing it walks the reader table, so it is cached in H_GATE and
// refreshed only when a claim does not fit. Group cursors are read before member cursors:
// a member publishes its own cursor before it moves the group's, so one of the two reads
// always sees the batch it is working on.
import * as L from "../src/layout";
import { align, capacity, h, mask, maxReaders, maxSpan, rec, recordState, slot, visibleTail } from "./ring";

export function computeGate(gate: i64, tail: i64, need: i64): i64 {
  // Move no further than this claim needs, plus an eighth of the ring so that the next
  // claims fit too: what lies above the gate stays readable for readers starting 'oldest'.
  let want = tail + need - capacity + (capacity >> 3);
  if (want < gate) want = gate;
  const m = minCursor(tail);
  return committedFrontier(gate, m < want ? m : want);
}

/**
 * The gate may never pass a claim that is not yet committed, even where no reader holds
 * it back (no gating reader at all, or all of them joined at the newest event): its
 * producer is still writing there. Walks committed records from `from` (a record boundary
 * at or above which everything is intact) up to `limit`, stopping at the first that is
 * not. Each record is walked once per lap by whichever producer refreshes the gate.
 */
function committedFrontier(from: i64, limit: i64): i64 {
  let pos = from;
  while (pos < limit) {
    const r = rec(<i32>pos & mask);
    const state = recordState(atomic.load<i32>(r + L.R_META));
    if (state != L.STATE_COMMITTED && state != L.STATE_REVOKED) break;
    const length = load<i32>(r + L.R_LENGTH);
    // Only a walk that raced with the gate moving can read this; its result is discarded.
    if (length < 0 || length > maxSpan) break;
    pos += <i64>align(L.RECORD_HEADER + length);
  }
  return pos;
}

/**
 * Where a producer that finds the ring full is held back: a gating reader's cursor, or a
 * claim nobody has committed. GATE_MOVED when the gate moved during the walk (ask again).
 */
export function blockedAt(): f64 {
  const gate = atomic.load<i64>(h(L.H_GATE));
  const at = committedFrontier(gate, minCursor(visibleTail()));
  return atomic.load<i64>(h(L.H_GATE)) == gate ? <f64>at : L.GATE_MOVED;
}

function minCursor(limit: i64): i64 {
  let m = limit;
  for (let i = 0; i < maxReaders; i++) {
    const s = slot(i);
    const kind = atomic.load<i32>(s + L.S_KIND);
    if (kind == L.KIND_GATING || kind == L.KIND_GROUP || kind == L.KIND_KEYED_MEMBER || kind == L.KIND_KEYED_GROUP) {
      const c = atomic.load<i64>(s + L.S_CURSOR);
      if (c < m) m = c;
    }
  }
  for (let i = 0; i < maxReaders; i++) {
    const s = slot(i);
    if (atomic.load<i32>(s + L.S_KIND) == L.KIND_MEMBER) {
      const c = atomic.load<i64>(s + L.S_CURSOR);
      if (c < m) m = c;
    }
  }
  return m;
}

/** The position below which a reader (or a group with its members) has consumed everything. */
export function holdPosition(i: i32): f64 {
  const s = slot(i);
  const kind = atomic.load<i32>(s + L.S_KIND);
  let c = atomic.load<i64>(s + L.S_CURSOR);
  if (kind == L.KIND_GROUP || kind == L.KIND_KEYED_GROUP) {
    const member = kind == L.KIND_GROUP ? L.KIND_MEMBER : L.KIND_KEYED_MEMBER;
    for (let j = 0; j < maxReaders; j++) {
      const m = slot(j);
      if (atomic.load<i32>(m + L.S_KIND) == member && atomic.load<i32>(m + L.S_GROUP) == i) {
        const mc = atomic.load<i64>(m + L.S_CURSOR);
        if (mc < c) c = mc;
      }
    }
  }
  return <f64>c;
}

/** Minimum cursor over all gating readers, or the tail when there are none. */
export function minGate(): f64 {
  return <f64>minCursor(visibleTail());
}
