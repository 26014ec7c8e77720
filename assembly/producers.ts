// Producers. A live producer's claim is never revoked, however long it takes: it is waited
// for (its bytes may still be being written). Only when its thread is known to be dead are
// its claims revoked, found through the producer table.
import * as L from "../src/layout";
import { capacity, claimEntry, h, lockClaims, mask, producerSlot, rec, recordState, unlockClaims, visibleTail, withState } from "./ring";
import { cursorMoved, dataMoved, wakeAll } from "./wake";

// Per thread: this thread's slot in the producer table (see acquireProducer), 0 before it has one.
export let producer: usize = 0;

/**
 * Gives this instance the producer slot of thread `owner` (threadId + 1), taking a free one
 * the first time this thread publishes on this ring. Returns the slot, or NO_SLOT when all are taken.
 */
export function acquireProducer(owner: i32): i32 {
  for (let i = 0; i < L.MAX_PRODUCERS; i++) {
    if (atomic.load<i32>(producerSlot(i) + L.P_OWNER) == owner) {
      producer = producerSlot(i);
      return i;
    }
  }
  for (let i = 0; i < L.MAX_PRODUCERS; i++) {
    if (atomic.cmpxchg<i32>(producerSlot(i) + L.P_OWNER, L.OWNER_FREE, owner) == L.OWNER_FREE) {
      producer = producerSlot(i);
      return i;
    }
  }
  return L.NO_SLOT;
}

export function producerOwner(i: i32): i32 {
  return atomic.load<i32>(producerSlot(i) + L.P_OWNER);
}

/** The next producer slot at or after `from` owned by thread `owner`, or NO_SLOT. */
export function producerOf(owner: i32, from: i32): i32 {
  for (let i = from; i < L.MAX_PRODUCERS; i++) {
    if (atomic.load<i32>(producerSlot(i) + L.P_OWNER) == owner) return i;
  }
  return L.NO_SLOT;
}

/**
 * Thread `owner` has died: revokes every claim listed in its slot `i` and frees the slot.
 * Straight-line once the slot is taken (a thread terminated here would leave it DYING).
 * Returns how many claims it revoked, or NOT_OWNER when the slot was not `owner`'s.
 */
export function deadSlot(i: i32, owner: i32): i32 {
  const p = producerSlot(i);
  if (atomic.cmpxchg<i32>(p + L.P_OWNER, owner, L.OWNER_DYING) != owner) return L.NOT_OWNER;
  const revoked = revokeListed(claimEntry(p, 0)) + revokeListed(claimEntry(p, 1)) + revokeListed(claimEntry(p, 2)) +
    revokeListed(claimEntry(p, 3)) + revokeListed(claimEntry(p, 4)) + revokeListed(claimEntry(p, 5));
  // Its count of committed events moves to the ring's, for the slot's next owner to start at
  // 0; committedEvents() retries across the move, so the total never counts it twice.
  atomic.add<i32>(h(L.H_COUNT_MOVES), 1);
  atomic.add<i64>(h(L.H_COMMITTED), atomic.load<i64>(p + L.P_COMMITTED));
  atomic.store<i64>(p + L.P_COMMITTED, 0);
  atomic.add<i32>(h(L.H_COUNT_MOVES), 1);
  atomic.store<i32>(p + L.P_OS_THREAD, 0);
  atomic.store<i32>(p + L.P_OWNER, L.OWNER_FREE);
  if (revoked > 0) {
    atomic.add<i64>(h(L.H_REVOKED), <i64>revoked);
    dataMoved();
    cursorMoved();
  }
  return revoked;
}

/**
 * Revokes the claim a dead thread listed at `entry` and clears the entry. The listed
 * position is still that claim's while it is CLAIMED: the gate never passes an open claim.
 */
@inline function revokeListed(entry: usize): i32 {
  const position = atomic.load<i64>(entry);
  atomic.store<i64>(entry, L.NO_CLAIM);
  if (position == L.NO_CLAIM) return 0;
  const t = visibleTail();
  if (position >= t || position + capacity < t) return 0;
  const r = rec(<i32>position & mask);
  const meta = atomic.load<i32>(r + L.R_META);
  if (recordState(meta) != L.STATE_CLAIMED) return 0;
  return atomic.cmpxchg<i32>(r + L.R_META, meta, withState(meta, L.STATE_REVOKED)) == meta ? 1 : 0;
}

/** The producer slot whose thread holds an open claim at `position`, or NO_SLOT. */
export function claimOwner(position: f64): i32 {
  const p = <i64>position;
  for (let i = 0; i < L.MAX_PRODUCERS; i++) {
    for (let e = 0; e < L.PRODUCER_CLAIMS; e++) {
      if (atomic.load<i64>(claimEntry(producerSlot(i), e)) == p) return i;
    }
  }
  return L.NO_SLOT;
}

/** Stops new claims. Takes the claim lock so no claim straddles it. */
export function closeRing(): void {
  const t = lockClaims();
  atomic.store<i32>(h(L.H_CLOSED), 1);
  unlockClaims(t);
  wakeAll();
}
