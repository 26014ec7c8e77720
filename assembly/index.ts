// The ring protocol. Every shared word lives at an address computed from src/layout.ts;
// this module keeps only per-instance copies of immutable header fields in globals.
// Atomics here are sequentially consistent (the only order WebAssembly offers), so each
// atomic store publishes the plain stores before it and each atomic load acquires them.
import * as L from "../src/layout";

const BASE: usize = <usize>L.RING_BASE;

// Immutable after initRing/attachRing: safe as per-instance globals.
let capacity: i64 = 0;
let mask: i32 = 0;
let maxReaders: i32 = 0;
let maxSpan: i32 = 0;
let slots: usize = 0;
let producers: usize = 0;
let keyed: usize = 0;
let data: usize = 0;

const IDLE: i64 = i64.MAX_VALUE;

// Per thread (each thread has its own instance): where this thread's last claim begins.
let claimedAt: i64 = 0;
// Per thread: this thread's slot in the producer table (see acquireProducer), 0 before it has one.
let producer: usize = 0;

/** Position of the first record of this thread's last successful claim; commit() needs it. */
export function claimPosition(): f64 {
  return <f64>claimedAt;
}

@inline function h(offset: i32): usize {
  return BASE + <usize>offset;
}

@inline function slot(i: i32): usize {
  return slots + <usize>(i * L.SLOT_BYTES);
}

@inline function producerSlot(i: i32): usize {
  return producers + <usize>(i * L.PRODUCER_BYTES);
}

@inline function claimEntry(p: usize, e: i32): usize {
  return p + L.P_CLAIMS + <usize>(e << 3);
}

@inline function rec(index: i32): usize {
  return data + <usize>index;
}

@inline function align(n: i32): i32 {
  return (n + (L.RECORD_ALIGN - 1)) & ~(L.RECORD_ALIGN - 1);
}

@inline function visibleTail(): i64 {
  return atomic.load<i64>(h(L.H_TAIL)) & ~1;
}

function readHeader(): void {
  capacity = <i64>load<i32>(h(L.H_CAPACITY));
  mask = <i32>capacity - 1;
  maxReaders = load<i32>(h(L.H_MAX_READERS));
  maxSpan = load<i32>(h(L.H_MAX_SPAN));
  slots = h(L.HEADER_BYTES);
  producers = slots + <usize>(maxReaders * L.SLOT_BYTES);
  keyed = producers + <usize>(L.MAX_PRODUCERS * L.PRODUCER_BYTES);
  data = keyed + <usize>(L.KEYED_GROUPS * L.KEYED_BYTES);
}

/** Lays out a fresh ring. Called once, by the thread that creates the bus. */
export function initRing(cap: i32, readers: i32, span: i32, topicCount: i32, topicHash: i32): void {
  memory.fill(h(0), 0, <usize>(L.HEADER_BYTES + readers * L.SLOT_BYTES + L.MAX_PRODUCERS * L.PRODUCER_BYTES + L.KEYED_GROUPS * L.KEYED_BYTES));
  store<i32>(h(L.H_CAPACITY), cap);
  store<i32>(h(L.H_MAX_READERS), readers);
  store<i32>(h(L.H_MAX_SPAN), span);
  store<i32>(h(L.H_TOPIC_COUNT), topicCount);
  store<i32>(h(L.H_TOPIC_HASH), topicHash);
  readHeader();
  for (let i = 0; i < readers; i++) store<i32>(slot(i) + L.S_GROUP, -1);
  for (let i = 0; i < L.MAX_PRODUCERS; i++) {
    for (let e = 0; e < L.PRODUCER_CLAIMS; e++) store<i64>(claimEntry(producerSlot(i), e), L.NO_CLAIM);
  }
  atomic.store<i32>(h(L.H_VERSION), L.LAYOUT_VERSION);
  atomic.store<i32>(h(L.H_MAGIC), L.MAGIC);
}

/** Reads the header of an existing ring: 0 when it is usable, 1 no ring, 2 another layout version. */
export function attachRing(): i32 {
  if (atomic.load<i32>(h(L.H_MAGIC)) != L.MAGIC) return 1;
  if (atomic.load<i32>(h(L.H_VERSION)) != L.LAYOUT_VERSION) return 2;
  readHeader();
  return 0;
}

export function dataOffset(): i32 {
  return <i32>data;
}

/** Offset of the keyed group table (see src/keyed.ts). */
export function keyedOffset(): i32 {
  return <i32>keyed;
}

export function slotOffset(i: i32): i32 {
  return <i32>slot(i);
}

// ---------------------------------------------------------------------------------------
// Gating. Producers may write up to gate + capacity, where gate is the minimum cursor of
// the gating readers. Computing it walks the reader table, so it is cached in H_GATE and
// refreshed only when a claim does not fit. Group cursors are read before member cursors:
// a member publishes its own cursor before it moves the group's, so one of the two reads
// always sees the batch it is working on.
function computeGate(gate: i64, tail: i64, need: i64): i64 {
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
    const state = atomic.load<i32>(r + L.R_META) & L.STATE_MASK;
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
 * claim nobody has committed. -1 when the gate moved during the walk (ask again).
 */
export function blockedAt(): f64 {
  const gate = atomic.load<i64>(h(L.H_GATE));
  const at = committedFrontier(gate, minCursor(visibleTail()));
  return atomic.load<i64>(h(L.H_GATE)) == gate ? <f64>at : -1;
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
export function gatePosition(i: i32): f64 {
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

// ---------------------------------------------------------------------------------------
// Claiming. A claim takes the claim lock (bit 0 of H_TAIL) for a few straight-line
// instructions: check space, write the padding and the first header, take sequence numbers,
// release by storing the new tail. No loop and no call runs while the lock is held, so
// terminating a worker (which V8 does only at loop back-edges and function entries) can
// never leave it held. Headers written before the release are what makes "tail > p"
// mean "the header at p is valid" for every reader.

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
    if (atomic.cmpxchg<i64>(h(L.H_TAIL), t, t | 1) != t) continue;
    // locked: straight-line from here to the release
    if (atomic.load<i32>(h(L.H_CLOSED)) != 0) {
      atomic.store<i64>(h(L.H_TAIL), t);
      return L.CLAIM_CLOSED;
    }
    if (fresh > gate) {
      // A reader that joined since computeGate() ran may sit below `fresh`; and if another
      // producer moved the gate, the records this walk read may have been overwritten.
      if (atomic.load<i32>(h(L.H_EPOCH)) != epoch || atomic.load<i64>(h(L.H_GATE)) != gate) {
        atomic.store<i64>(h(L.H_TAIL), t);
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
      store<i32>(p + L.R_META, (L.FLAG_PADDING << L.FLAGS_SHIFT) | L.STATE_COMMITTED);
    }
    const seq = atomic.load<i64>(h(L.H_NEXT_SEQ));
    const r = rec(first);
    store<i32>(r + L.R_LENGTH, span - L.RECORD_HEADER);
    store<i64>(r + L.R_SEQ, seq);
    store<i32>(r + L.R_META, meta | L.STATE_CLAIMED);
    atomic.store<i64>(h(L.H_NEXT_SEQ), seq + <i64>count);
    // Listed before the release: whoever handles this thread's death finds every claim it left.
    store<i64>(entry, t + <i64>pad);
    atomic.store<i64>(h(L.H_TAIL), t + need);
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
    const state = claimed & L.STATE_MASK;
    // A late commit of a revoked claim may hold this record for a few instructions.
    if (state == L.STATE_COMMITTING) continue;
    if (state != L.STATE_CLAIMED || load<i64>(r + L.R_SEQ) != <i64>seq) return L.COMMIT_REVOKED;
    const committing = (claimed & ~L.STATE_MASK) | L.STATE_COMMITTING;
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
  atomic.store<i32>(r + L.R_META, (claimed & ~L.STATE_MASK) | L.STATE_COMMITTED);
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
  if (lapped(position) || (meta & L.STATE_MASK) != L.STATE_CLAIMED || load<i64>(r + L.R_SEQ) != <i64>seq) return 0;
  if (atomic.cmpxchg<i32>(r + L.R_META, meta, (meta & ~L.STATE_MASK) | L.STATE_REVOKED) != meta) return 0;
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
// unlistClaim() and deadSlot() spell out the PRODUCER_CLAIMS (6) entries one by one: a loop
// there could be where V8 stops a terminated thread. test/critical-sections.test.ts checks both.

// ---------------------------------------------------------------------------------------
// Producers. A live producer's claim is never revoked, however long it takes: it is waited
// for (its bytes may still be being written). Only when its thread is known to be dead are
// its claims revoked, found through the producer table.

/**
 * Gives this instance the producer slot of thread `owner` (threadId + 1), taking a free one
 * the first time this thread publishes on this ring. Returns the slot, or -1 when all are taken.
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
  return -1;
}

export function producerOwner(i: i32): i32 {
  return atomic.load<i32>(producerSlot(i) + L.P_OWNER);
}

/** The next producer slot at or after `from` owned by thread `owner`, or -1. */
export function producerOf(owner: i32, from: i32): i32 {
  for (let i = from; i < L.MAX_PRODUCERS; i++) {
    if (atomic.load<i32>(producerSlot(i) + L.P_OWNER) == owner) return i;
  }
  return -1;
}

/**
 * Thread `owner` has died: revokes every claim listed in its slot `i` and frees the slot.
 * Straight-line once the slot is taken (a thread terminated here would leave it DYING).
 * Returns how many claims it revoked, or -1 when the slot was not `owner`'s.
 */
export function deadSlot(i: i32, owner: i32): i32 {
  const p = producerSlot(i);
  if (atomic.cmpxchg<i32>(p + L.P_OWNER, owner, L.OWNER_DYING) != owner) return -1;
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
  if ((meta & L.STATE_MASK) != L.STATE_CLAIMED) return 0;
  return atomic.cmpxchg<i32>(r + L.R_META, meta, (meta & ~L.STATE_MASK) | L.STATE_REVOKED) == meta ? 1 : 0;
}

/** The producer slot whose thread holds an open claim at `position`, or -1. */
export function claimOwner(position: f64): i32 {
  const p = <i64>position;
  for (let i = 0; i < L.MAX_PRODUCERS; i++) {
    for (let e = 0; e < L.PRODUCER_CLAIMS; e++) {
      if (atomic.load<i64>(claimEntry(producerSlot(i), e)) == p) return i;
    }
  }
  return -1;
}

/** Stops new claims. Takes the claim lock so no claim straddles it. */
export function closeRing(): void {
  while (true) {
    const t = atomic.load<i64>(h(L.H_TAIL));
    if (t & 1) continue;
    if (atomic.cmpxchg<i64>(h(L.H_TAIL), t, t | 1) != t) continue;
    atomic.store<i32>(h(L.H_CLOSED), 1);
    atomic.store<i64>(h(L.H_TAIL), t);
    break;
  }
  wakeAll();
}

export function wakeAll(): void {
  atomic.add<i32>(h(L.H_DATA_FUTEX), 1);
  atomic.notify(h(L.H_DATA_FUTEX), -1);
  atomic.add<i32>(h(L.H_CURSOR_FUTEX), 1);
  atomic.notify(h(L.H_CURSOR_FUTEX), -1);
}

// ---------------------------------------------------------------------------------------
// Readers.

/**
 * Gives a reserved slot its kind and first cursor under the claim lock, so that no
 * producer applies a gate computed without it (see H_EPOCH in claim()).
 * `start`: 0 oldest retained, 1 newest, 2 keep the cursor the slot already has.
 */
export function registerReader(i: i32, kind: i32, group: i32, start: i32): void {
  const s = slot(i);
  while (true) {
    const t = atomic.load<i64>(h(L.H_TAIL));
    if (t & 1) continue;
    if (atomic.cmpxchg<i64>(h(L.H_TAIL), t, t | 1) != t) continue;
    const gate = atomic.load<i64>(h(L.H_GATE));
    if (kind == L.KIND_MEMBER || kind == L.KIND_KEYED_GROUP) {
      if (start != 2) atomic.store<i64>(s + L.S_CURSOR, IDLE);
    } else if (start == 0) {
      atomic.store<i64>(s + L.S_CURSOR, gate);
    } else if (start == 1) {
      atomic.store<i64>(s + L.S_CURSOR, t);
    } else {
      const c = atomic.load<i64>(s + L.S_CURSOR);
      if (c < gate && kind != L.KIND_LOSSY) atomic.store<i64>(s + L.S_CURSOR, gate);
    }
    if (start != 2) {
      atomic.store<i64>(s + L.S_NEXT_SEQ, seqFrom(atomic.load<i64>(s + L.S_CURSOR), t));
      atomic.store<i64>(s + L.S_BATCH_END, IDLE);
    }
    atomic.store<i32>(s + L.S_GROUP, group);
    atomic.store<i32>(s + L.S_KIND, kind);
    atomic.add<i32>(h(L.H_EPOCH), 1);
    atomic.store<i64>(h(L.H_TAIL), t);
    break;
  }
}

/**
 * Sequence number of the first event at or after `position`, with the claim lock held
 * (so every header below `tail` is written): at most one padding record to step over.
 */
@inline function seqFrom(position: i64, tail: i64): i64 {
  let p = position;
  if (p < tail) {
    const r = rec(<i32>p & mask);
    if (((atomic.load<i32>(r + L.R_META) >> L.FLAGS_SHIFT) & L.FLAG_PADDING) == 0) return load<i64>(r + L.R_SEQ);
    p += <i64>align(L.RECORD_HEADER + load<i32>(r + L.R_LENGTH));
    if (p < tail) return load<i64>(rec(<i32>p & mask) + L.R_SEQ);
  }
  return atomic.load<i64>(h(L.H_NEXT_SEQ));
}

/**
 * Sets the cursor of slot `i` under the claim lock and bumps the epoch, so that no producer
 * applies a gate computed before (a keyed group's hand-over floor, lowered or raised).
 */
export function setCursorLocked(i: i32, position: f64): void {
  const s = slot(i);
  while (true) {
    const t = atomic.load<i64>(h(L.H_TAIL));
    if (t & 1) continue;
    if (atomic.cmpxchg<i64>(h(L.H_TAIL), t, t | 1) != t) continue;
    atomic.store<i64>(s + L.S_CURSOR, position >= 9.2e18 ? IDLE : <i64>position);
    atomic.add<i32>(h(L.H_EPOCH), 1);
    atomic.store<i64>(h(L.H_TAIL), t);
    break;
  }
  cursorMoved();
}

/** Frees a slot: it stops holding producers back. */
export function releaseReader(i: i32): void {
  const s = slot(i);
  atomic.store<i32>(s + L.S_GROUP, -1);
  atomic.store<i32>(s + L.S_OWNER, 0);
  atomic.store<i32>(s + L.S_KIND, L.KIND_FREE);
  cursorMoved();
}

@inline function dataMoved(): void {
  if (atomic.load<i32>(h(L.H_DATA_WAITERS)) != 0) {
    atomic.add<i32>(h(L.H_DATA_FUTEX), 1);
    atomic.notify(h(L.H_DATA_FUTEX), -1);
  }
}

@inline function cursorMoved(): void {
  if (atomic.load<i32>(h(L.H_CURSOR_WAITERS)) != 0) {
    atomic.add<i32>(h(L.H_CURSOR_FUTEX), 1);
    atomic.notify(h(L.H_CURSOR_FUTEX), -1);
  }
}

/**
 * Walks committed records from `from` towards `limit` (at most `max` events) and returns
 * how many bytes are readable. Stops at the first record still being written.
 */
function scan(from: i64, limit: i64, max: i32): i32 {
  let pos = from;
  let events = 0;
  while (pos < limit && events < max) {
    const r = rec(<i32>pos & mask);
    const meta = atomic.load<i32>(r + L.R_META);
    const state = meta & L.STATE_MASK;
    if (state == L.STATE_COMMITTED) {
      if (((meta >> L.FLAGS_SHIFT) & L.FLAG_PADDING) == 0) events++;
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
  return (atomic.load<i32>(rec(<i32>p & mask) + L.R_META) & L.STATE_MASK) == L.STATE_CLAIMED ? 1 : 0;
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
  if ((meta & L.STATE_MASK) != L.STATE_CLAIMED) return 0;
  if (load<i64>(r + L.R_SEQ) != <i64>seq) return 0;
  const revoked = (meta & ~L.STATE_MASK) | L.STATE_REVOKED;
  if (atomic.cmpxchg<i32>(r + L.R_META, meta, revoked) != meta) return 0;
  atomic.add<i64>(h(L.H_REVOKED), 1);
  dataMoved();
  cursorMoved();
  return 1;
}

// ---------------------------------------------------------------------------------------
// Lossy readers never hold producers back, so what they read may be overwritten under
// them. Data at position p is intact while no claim has reached p + capacity.

/** 1 when the bytes at `position` may have been overwritten. */
export function lapped(position: f64): i32 {
  while (true) {
    const t = atomic.load<i64>(h(L.H_TAIL));
    if (t & 1) continue; // a claim is writing headers: wait for its extent
    return t > <i64>position + capacity ? 1 : 0;
  }
}

/**
 * Moves a lapped lossy reader to the oldest event still intact (the gate: nothing at or
 * above it has been overwritten) and returns that event's sequence number, read while the
 * gate stays put; at the tail, read as a consistent pair with it.
 */
export function resync(i: i32): f64 {
  while (true) {
    const t = atomic.load<i64>(h(L.H_TAIL));
    if (t & 1) continue;
    const g = atomic.load<i64>(h(L.H_GATE));
    let p = g < t ? g : t;
    let seq: i64 = -1;
    if (p < t) {
      const r = rec(<i32>p & mask);
      if (((atomic.load<i32>(r + L.R_META) >> L.FLAGS_SHIFT) & L.FLAG_PADDING) != 0) p += <i64>align(L.RECORD_HEADER + load<i32>(r + L.R_LENGTH));
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

// ---------------------------------------------------------------------------------------
// Consumer groups: members take batches off the group's shared cursor with a CAS.

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

// ---------------------------------------------------------------------------------------
// Counters for stats(), as f64 (exact below 2^53).

export function tailPosition(): f64 {
  return <f64>visibleTail();
}

export function addProducerWait(ns: f64): void {
  atomic.add<i64>(h(L.H_PRODUCER_WAIT_NS), <i64>ns);
}

export function addSlotCounter(i: i32, offset: i32, n: f64): void {
  atomic.add<i64>(slot(i) + <usize>offset, <i64>n);
}

/** Events committed: by threads whose slots were freed, and through every live slot. */
export function committedEvents(): f64 {
  while (true) {
    const moves = atomic.load<i32>(h(L.H_COUNT_MOVES));
    if (moves & 1) continue;
    let n = atomic.load<i64>(h(L.H_COMMITTED));
    for (let i = 0; i < L.MAX_PRODUCERS; i++) n += atomic.load<i64>(producerSlot(i) + L.P_COMMITTED);
    if (atomic.load<i32>(h(L.H_COUNT_MOVES)) == moves) return <f64>n;
  }
}

export function counter(offset: i32): f64 {
  return <f64>atomic.load<i64>(h(offset));
}

export function slotCounter(i: i32, offset: i32): f64 {
  return <f64>atomic.load<i64>(slot(i) + <usize>offset);
}
