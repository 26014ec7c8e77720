// Claiming. A claim takes the claim lock (bit 0 of H_TAIL) for a few straight-line
// instructions: check space, write the padding and the first header, take sequence numbers,
// release by storing the new tail. No loop and no call runs while the lock is held, so
// terminating a worker (which V8 does only at loop back-edges and function entries) can
// never leave it held. Headers written before the release are what makes "tail > p"
// mean "the header at p is valid" for every reader.
import * as L from "../src/layout";
import { computeGate } from "./gate";
import { lapped } from "./lossy";
import { producer } from "./producers";
import { capacity, claimEntry, h, mask, maxSpan, rec, recordState, tryLockClaims, unlockClaims, visibleTail, withState } from "./ring";
import { cursorMoved, dataMoved } from "./wake";

// Per thread (each thread has its own instance): where this thread's last claim begins.
let claimedAt: i64 = 0;

/** Position of the first record of this thread's last successful claim; commit() needs it. */
export function claimPosition(): f64 {
  return <f64>claimedAt;
}

/**
 * Claims `span` bytes (whole records, headers included) for `count` events.
 * Returns the data index of the first record's header, or a CLAIM_* code.
 */
export function claim(span: i32, count: i32, meta: i32): i32 {
  if (span <= 0 || span > maxSpan) return L.CLAIM_TOO_LARGE;
  if (producer == 0) return L.CLAIM_TOO_MANY; // acquireProducer() first
  // The entry that will list this claim: only this thread writes its slot while it lives.
  let entry: usize = 0;
  for (let e = 0; e < L.PRODUCER_CLAIMS; e++) {
    const at = claimEntry(producer, e);
    if (load<i64>(at) == L.NO_CLAIM) {
      entry = at;
      break;
    }
  }
  if (entry == 0) return L.CLAIM_TOO_MANY;
  while (true) {
    const t = atomic.load<i64>(h(L.H_TAIL));
    if (t & 1) return L.CLAIM_BUSY;
    const index = <i32>t & mask;
    const pad = index + span > <i32>capacity ? <i32>capacity - index : 0;
    const need = <i64>(pad + span);
    const gate = atomic.load<i64>(h(L.H_GATE));
    let fresh = gate;
    let epoch = 0;
    if (t + need > gate + capacity) {
      epoch = atomic.load<i32>(h(L.H_EPOCH));
      fresh = computeGate(gate, t, need);
      if (t + need > fresh + capacity) {
        return atomic.load<i32>(h(L.H_CLOSED)) != 0 ? L.CLAIM_CLOSED : L.CLAIM_FULL;
      }
    }
    if (!tryLockClaims(t)) continue;
    // locked: straight-line from here to the release
    if (atomic.load<i32>(h(L.H_CLOSED)) != 0) {
      unlockClaims(t);
      return L.CLAIM_CLOSED;
    }
    if (fresh > gate) {
      // A reader that joined since computeGate() ran may sit below `fresh`; and if another
      // producer moved the gate, the records this walk read may have been overwritten.
      if (atomic.load<i32>(h(L.H_EPOCH)) != epoch || atomic.load<i64>(h(L.H_GATE)) != gate) {
        unlockClaims(t);
        return L.CLAIM_BUSY;
      }
      atomic.store<i64>(h(L.H_GATE), fresh);
    }
    const first = (index + pad) & mask;
    // Plain stores: the release of the lock (the atomic store of the tail) publishes them
    // all, and nobody looks at a header at or above the tail.
    if (pad > 0) {
      const p = rec(index);
      store<i32>(p + L.R_LENGTH, pad - L.RECORD_HEADER);
      store<i64>(p + L.R_SEQ, -1);
      store<i32>(p + L.R_META, L.PADDING_META);
    }
    const seq = atomic.load<i64>(h(L.H_NEXT_SEQ));
    const r = rec(first);
    store<i32>(r + L.R_LENGTH, span - L.RECORD_HEADER);
    store<i64>(r + L.R_SEQ, seq);
    store<i32>(r + L.R_META, meta | L.STATE_CLAIMED);
    atomic.store<i64>(h(L.H_NEXT_SEQ), seq + <i64>count);
    // Listed before the release: whoever handles this thread's death finds every claim it left.
    store<i64>(entry, t + <i64>pad);
    unlockClaims(t + need);
    claimedAt = t + <i64>pad;
    return first;
  }
}

/**
 * Commits a claim whose other records the caller has already written (headers with
 * STATE_COMMITTED, payloads). Publishing the first record publishes the whole batch.
 */
export function commit(index: i32, firstLength: i32, count: i32, seq: f64, position: f64): i32 {
  const r = rec(index);
  let claimed = 0;
  while (true) {
    // Lapped since the claim (it was revoked, and its space reused): whatever these bytes
    // look like now, they belong to a later lap. A claim never revoked is never lapped.
    if (lapped(position)) return L.COMMIT_REVOKED;
    claimed = atomic.load<i32>(r + L.R_META);
    const state = recordState(claimed);
    // A late commit of a revoked claim may hold this record for a few instructions.
    if (state == L.STATE_COMMITTING) continue;
    if (state != L.STATE_CLAIMED || load<i64>(r + L.R_SEQ) != <i64>seq) return L.COMMIT_REVOKED;
    const committing = withState(claimed, L.STATE_COMMITTING);
    if (atomic.cmpxchg<i32>(r + L.R_META, claimed, committing) != claimed) continue;
    // COMMITTING is held from here to the end: straight-line code only (no loop, no call),
    // or a worker terminated here would leave a record that nobody can revoke.
    // Ours, or another producer's claim in space reused after ours was revoked? While it is
    // COMMITTING nobody can revoke or reuse it, so the sequence number decides.
    if (load<i64>(r + L.R_SEQ) == <i64>seq && visibleTail() <= <i64>position + capacity) break;
    atomic.store<i32>(r + L.R_META, claimed);
    return L.COMMIT_REVOKED;
  }
  store<i32>(r + L.R_LENGTH, firstLength);
  atomic.store<i32>(r + L.R_META, withState(claimed, L.STATE_COMMITTED));
  unlistClaim(<i64>position);
  // Counted in this thread's own slot: no cache line that every producer writes on each commit.
  store<i64>(producer + L.P_COMMITTED, load<i64>(producer + L.P_COMMITTED) + <i64>count);
  dataMoved();
  cursorMoved(); // with no gating reader, producers wait for commits to move the gate
  return L.COMMIT_OK;
}

/**
 * Gives up this thread's open claim at `position` (the caller failed before it could
 * commit): readers skip it. Safe because the caller is its writer and stops writing.
 * Returns 1 when it was still open.
 */
export function abort(index: i32, seq: f64, position: f64): i32 {
  const r = rec(index);
  const meta = atomic.load<i32>(r + L.R_META);
  if (lapped(position) || recordState(meta) != L.STATE_CLAIMED || load<i64>(r + L.R_SEQ) != <i64>seq) return 0;
  if (atomic.cmpxchg<i32>(r + L.R_META, meta, withState(meta, L.STATE_REVOKED)) != meta) return 0;
  unlistClaim(<i64>position);
  atomic.add<i64>(h(L.H_REVOKED), 1);
  dataMoved();
  cursorMoved();
  return 1;
}

// Straight-line on purpose (commit() calls it while its record is COMMITTING).
// Plain accesses: only this thread writes its entries while it lives, and its death is
// handled only after it has stopped.
@inline function unlistClaim(position: i64): void {
  const p = producer;
  if (load<i64>(claimEntry(p, 0)) == position) store<i64>(claimEntry(p, 0), L.NO_CLAIM);
  if (load<i64>(claimEntry(p, 1)) == position) store<i64>(claimEntry(p, 1), L.NO_CLAIM);
  if (load<i64>(claimEntry(p, 2)) == position) store<i64>(claimEntry(p, 2), L.NO_CLAIM);
  if (load<i64>(claimEntry(p, 3)) == position) store<i64>(claimEntry(p, 3), L.NO_CLAIM);
  if (load<i64>(claimEntry(p, 4)) == position) store<i64>(claimEntry(p, 4), L.NO_CLAIM);
  if (load<i64>(claimEntry(p, 5)) == position) store<i64>(claimEntry(p, 5), L.NO_CLAIM);
}
// unlistClaim() and deadSlot() (producers.ts) spell out the PRODUCER_CLAIMS (6) entries one
// by one: a loop there could be where V8 stops a terminated thread.
// test/critical-sections.test.ts checks both.
