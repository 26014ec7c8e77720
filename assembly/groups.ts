// Consumer groups: members take batches off the group's shared cursor with a CAS.
import * as L from "../src/layout";
import { scan } from "./readers";
import { capacity, IDLE, slot, visibleTail } from "./ring";
import { cursorMoved, dataMoved } from "./wake";

/**
 * Takes up to `max` events for member `i` of group `g`. Returns the bytes taken (0: none);
 * the batch starts at the member's cursor, which gates producers until memberDone().
 */
export function groupClaim(i: i32, g: i32, max: i32, depLimit: f64): i32 {
  const ms = slot(i);
  const gs = slot(g);
  while (true) {
    const from = atomic.load<i64>(gs + L.S_CURSOR);
    // batchEnd = from first: a member killed before the CAS below leaves an empty batch
    atomic.store<i64>(ms + L.S_BATCH_END, from);
    atomic.store<i64>(ms + L.S_CURSOR, from);
    let limit = visibleTail();
    if (depLimit >= 0 && <i64>depLimit < limit) limit = <i64>depLimit;
    const bytes = scan(from, limit, max);
    if (bytes == 0) {
      atomic.store<i64>(ms + L.S_CURSOR, IDLE);
      return 0;
    }
    if (atomic.cmpxchg<i64>(gs + L.S_CURSOR, from, from + <i64>bytes) == from) {
      atomic.store<i64>(ms + L.S_BATCH_END, from + <i64>bytes);
      return bytes;
    }
  }
}

/** Bytes left of the batch member `i` holds (a member taking over a dead one's slot resumes it). */
export function memberPending(i: i32): i32 {
  const s = slot(i);
  const c = atomic.load<i64>(s + L.S_CURSOR);
  if (c == IDLE) return 0;
  const end = atomic.load<i64>(s + L.S_BATCH_END);
  if (end > c && end - c <= capacity) return <i32>(end - c);
  atomic.store<i64>(s + L.S_CURSOR, IDLE); // it died before taking the batch
  cursorMoved();
  return 0;
}

/** The member finished its batch: it stops gating. */
export function memberDone(i: i32, events: i32): void {
  const s = slot(i);
  atomic.store<i64>(s + L.S_BATCH_END, IDLE);
  atomic.store<i64>(s + L.S_CURSOR, IDLE);
  store<i64>(s + L.S_CONSUMED, load<i64>(s + L.S_CONSUMED) + <i64>events);
  cursorMoved();
  dataMoved(); // peers waiting for the group to reach the end sleep on the data futex
}
