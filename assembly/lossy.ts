// Lossy readers never hold producers back, so what they read may be overwritten under
// them. Data at position p is intact while no claim has reached p + capacity.
import * as L from "../src/layout";
import { seqFrom } from "./readers";
import { capacity, h, isPadding, mask, rec, recordSpan, settledTail, slot, visibleTail } from "./ring";

/** 1 when the bytes at `position` may have been overwritten. */
export function lapped(position: f64): i32 {
  return settledTail() > <i64>position + capacity ? 1 : 0;
}

/**
 * Moves a lapped lossy reader to the oldest event still intact (the gate: nothing at or
 * above it has been overwritten) and returns that event's sequence number, read while the
 * gate stays put; at the tail, read as a consistent pair with it.
 */
export function resync(i: i32): f64 {
  while (true) {
    const t = settledTail();
    const g = atomic.load<i64>(h(L.H_GATE));
    let p = g < t ? g : t;
    let seq: i64 = -1;
    if (p < t) {
      const r = rec(<i32>p & mask);
      if (isPadding(atomic.load<i32>(r + L.R_META))) p += recordSpan(r);
      if (p < t) seq = load<i64>(rec(<i32>p & mask) + L.R_SEQ);
    }
    if (seq < 0) {
      seq = atomic.load<i64>(h(L.H_NEXT_SEQ));
      if (atomic.load<i64>(h(L.H_TAIL)) != t) continue;
    } else if (atomic.load<i64>(h(L.H_GATE)) != g) {
      continue;
    }
    atomic.store<i64>(slot(i) + L.S_CURSOR, p);
    atomic.store<i64>(slot(i) + L.S_NEXT_SEQ, seq);
    return <f64>seq;
  }
}

/** Sequence number of the first event at or after `position` (a record boundary at or above the gate). */
export function seqFromPosition(position: f64): f64 {
  return <f64>seqFrom(<i64>position, visibleTail());
}
