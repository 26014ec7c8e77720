// Readers: registering a slot, walking what it may read, and committing its progress.
import * as L from "../src/layout";
import { align, capacity, h, IDLE, isPadding, lockClaims, mask, maxSpan, rec, recordSpan, recordState, slot, unlockClaims, visibleTail, withState } from "./ring";
import { cursorMoved, dataMoved } from "./wake";

/**
 * Gives a reserved slot its kind and first cursor under the claim lock, so that no
 * producer applies a gate computed without it (see H_EPOCH in claim()).
 * `start`: one of START_*.
 */
export function registerReader(i: i32, kind: i32, group: i32, start: i32): void {
  const s = slot(i);
  const t = lockClaims();
  const gate = atomic.load<i64>(h(L.H_GATE));
  if (kind == L.KIND_MEMBER || kind == L.KIND_KEYED_GROUP) {
    if (start != L.START_KEEP) atomic.store<i64>(s + L.S_CURSOR, IDLE);
  } else if (start == L.START_OLDEST) {
    atomic.store<i64>(s + L.S_CURSOR, gate);
  } else if (start == L.START_NEWEST) {
    atomic.store<i64>(s + L.S_CURSOR, t);
  } else {
    const c = atomic.load<i64>(s + L.S_CURSOR);
    if (c < gate && kind != L.KIND_LOSSY) atomic.store<i64>(s + L.S_CURSOR, gate);
  }
  if (start != L.START_KEEP) {
    atomic.store<i64>(s + L.S_NEXT_SEQ, seqFrom(atomic.load<i64>(s + L.S_CURSOR), t));
    atomic.store<i64>(s + L.S_BATCH_END, IDLE);
  }
  atomic.store<i32>(s + L.S_GROUP, group);
  atomic.store<i32>(s + L.S_KIND, kind);
  atomic.add<i32>(h(L.H_EPOCH), 1);
  unlockClaims(t);
}

/**
 * Sequence number of the first event at or after `position`, with the claim lock held
 * (so every header below `tail` is written): at most one padding record to step over.
 */
@inline export function seqFrom(position: i64, tail: i64): i64 {
  let p = position;
  if (p < tail) {
    const r = rec(<i32>p & mask);
    if (!isPadding(atomic.load<i32>(r + L.R_META))) return load<i64>(r + L.R_SEQ);
    p += recordSpan(r);
    if (p < tail) return load<i64>(rec(<i32>p & mask) + L.R_SEQ);
  }
  return atomic.load<i64>(h(L.H_NEXT_SEQ));
}

/**
 * Sets the cursor of slot `i` under the claim lock and bumps the epoch, so that no producer
 * applies a gate computed before (a keyed group's hand-over floor, lowered or raised).
 * A position at or above PARKED_FROM parks it.
 */
export function setCursorLocked(i: i32, position: f64): void {
  const s = slot(i);
  const t = lockClaims();
  atomic.store<i64>(s + L.S_CURSOR, position >= L.PARKED_FROM ? IDLE : <i64>position);
  atomic.add<i32>(h(L.H_EPOCH), 1);
  unlockClaims(t);
  cursorMoved();
}

/** Frees a slot: it stops holding producers back. */
export function releaseReader(i: i32): void {
  const s = slot(i);
  atomic.store<i32>(s + L.S_GROUP, L.NO_SLOT);
  atomic.store<i32>(s + L.S_OWNER, 0);
  atomic.store<i32>(s + L.S_KIND, L.KIND_FREE);
  cursorMoved();
}

/**
 * Walks committed records from `from` towards `limit` (at most `max` events) and returns
 * how many bytes are readable. Stops at the first record still being written.
 */
export function scan(from: i64, limit: i64, max: i32): i32 {
  let pos = from;
  let events = 0;
  while (pos < limit && events < max) {
    const r = rec(<i32>pos & mask);
    const meta = atomic.load<i32>(r + L.R_META);
    const state = recordState(meta);
    if (state == L.STATE_COMMITTED) {
      if (!isPadding(meta)) events++;
    } else if (state != L.STATE_REVOKED) {
      break;
    }
    const length = load<i32>(r + L.R_LENGTH);
    if (length < 0 || length > maxSpan) break; // only a lapped lossy reader can see this
    pos += <i64>align(L.RECORD_HEADER + length);
  }
  return <i32>(pos - from);
}

/**
 * Bytes readable by slot `i` from its cursor: bounded by the tail, by `depLimit` (the
 * gate of the readers it depends on; negative for none) and by `max` events.
 */
export function available(i: i32, max: i32, depLimit: f64): i32 {
  const s = slot(i);
  const from = atomic.load<i64>(s + L.S_CURSOR);
  let limit = visibleTail();
  if (depLimit >= 0 && <i64>depLimit < limit) limit = <i64>depLimit;
  return scan(from, limit, max);
}

export function cursor(i: i32): f64 {
  return <f64>atomic.load<i64>(slot(i) + L.S_CURSOR);
}

export function cursorIndex(i: i32): i32 {
  return <i32>atomic.load<i64>(slot(i) + L.S_CURSOR) & mask;
}

/** Commits a reader's progress: `bytes` further, `events` more consumed. */
export function advance(i: i32, bytes: i32, events: i32, nextSeq: f64): void {
  const s = slot(i);
  // consumed first: whoever sees the cursor move (drain()) sees the count that goes with it
  atomic.store<i64>(s + L.S_CONSUMED, load<i64>(s + L.S_CONSUMED) + <i64>events);
  atomic.store<i64>(s + L.S_CURSOR, atomic.load<i64>(s + L.S_CURSOR) + <i64>bytes);
  if (nextSeq >= 0) atomic.store<i64>(s + L.S_NEXT_SEQ, <i64>nextSeq);
  cursorMoved();
}

/** 1 when the record at `position` is a claim not yet committed (within the current lap), else 0. */
export function openClaimAt(position: f64): i32 {
  const p = <i64>position;
  const t = visibleTail();
  if (p >= t || p + capacity < t) return 0;
  return recordState(atomic.load<i32>(rec(<i32>p & mask) + L.R_META)) == L.STATE_CLAIMED ? 1 : 0;
}

/** Sequence number of the claim at `position` (to tell one stalled claim from the next). */
export function pendingSeq(position: f64): f64 {
  return <f64>load<i64>(rec(<i32><i64>position & mask) + L.R_SEQ);
}

/**
 * Turns the stalled claim at `position` into a skippable record, provided it is still
 * the claim with sequence `seq`. Its producer, if alive, sees the revocation at commit
 * and publishes again. Returns 1 when this call revoked it.
 */
export function revoke(position: f64, seq: f64): i32 {
  const p = <i64>position;
  const t = visibleTail();
  if (p >= t || p + capacity < t) return 0;
  const r = rec(<i32>p & mask);
  const meta = atomic.load<i32>(r + L.R_META);
  if (recordState(meta) != L.STATE_CLAIMED) return 0;
  if (load<i64>(r + L.R_SEQ) != <i64>seq) return 0;
  const revoked = withState(meta, L.STATE_REVOKED);
  if (atomic.cmpxchg<i32>(r + L.R_META, meta, revoked) != meta) return 0;
  atomic.add<i64>(h(L.H_REVOKED), 1);
  dataMoved();
  cursorMoved();
  return 1;
}
