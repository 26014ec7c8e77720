// The ring's geometry, addressing and claim lock, shared by every part of the core. Every
// shared word lives at an address computed from src/layout.ts; this module keeps only
// per-instance copies of immutable header fields in globals.
// Atomics here are sequentially consistent (the only order WebAssembly offers), so each
// atomic store publishes the plain stores before it and each atomic load acquires them.
import * as L from "../src/layout";

const BASE: usize = <usize>L.RING_BASE;

// Immutable after initRing/attachRing: safe as per-instance globals.
export let capacity: i64 = 0;
export let mask: i32 = 0;
export let maxReaders: i32 = 0;
export let maxSpan: i32 = 0;
let slots: usize = 0;
let producers: usize = 0;
let keyed: usize = 0;
let data: usize = 0;

/** The cursor of a slot that holds nothing back (a member between batches): the largest i64. */
export const IDLE: i64 = i64.MAX_VALUE;

@inline export function h(offset: i32): usize {
  return BASE + <usize>offset;
}

@inline export function slot(i: i32): usize {
  return slots + <usize>(i * L.SLOT_BYTES);
}

@inline export function producerSlot(i: i32): usize {
  return producers + <usize>(i * L.PRODUCER_BYTES);
}

@inline export function claimEntry(p: usize, e: i32): usize {
  return p + L.P_CLAIMS + <usize>(e << 3);
}

@inline export function rec(index: i32): usize {
  return data + <usize>index;
}

@inline export function align(n: i32): i32 {
  return (n + (L.RECORD_ALIGN - 1)) & ~(L.RECORD_ALIGN - 1);
}

// ---------------------------------------------------------------------------------------
// Record descriptor: a record's meta word (src/layout.ts draws it).

@inline export function recordState(meta: i32): i32 {
  return meta & L.STATE_MASK;
}

@inline export function withState(meta: i32, state: i32): i32 {
  return (meta & ~L.STATE_MASK) | state;
}

@inline export function isPadding(meta: i32): bool {
  return ((meta >> L.FLAGS_SHIFT) & L.FLAG_PADDING) != 0;
}

/** Bytes from a record's header to the next record's, read from its header. */
@inline export function recordSpan(r: usize): i64 {
  return <i64>align(L.RECORD_HEADER + load<i32>(r + L.R_LENGTH));
}

// ---------------------------------------------------------------------------------------
// The claim lock: bit 0 of H_TAIL. Whoever holds it runs straight-line code only (no loop,
// no call) until it stores the tail back, so terminating a worker (which V8 does only at
// loop back-edges and function entries) can never leave it held.

/** The tail without the lock bit: everything below it has a valid header. */
@inline export function visibleTail(): i64 {
  return atomic.load<i64>(h(L.H_TAIL)) & ~1;
}

/** The tail once no claimer holds the lock: the extent of every claim made so far. */
@inline export function settledTail(): i64 {
  while (true) {
    const t = atomic.load<i64>(h(L.H_TAIL));
    if (t & 1) continue; // a claim is writing headers: wait for its extent
    return t;
  }
}

/** Takes the lock at tail `t`; false when it is held or the tail moved. */
@inline export function tryLockClaims(t: i64): bool {
  return atomic.cmpxchg<i64>(h(L.H_TAIL), t, t | 1) == t;
}

/** Spins until it takes the lock; returns the tail it holds it at. */
@inline export function lockClaims(): i64 {
  while (true) {
    const t = atomic.load<i64>(h(L.H_TAIL));
    if (t & 1) continue;
    if (atomic.cmpxchg<i64>(h(L.H_TAIL), t, t | 1) != t) continue;
    return t;
  }
}

/** Releases the lock, setting the tail to `tail`: publishes every plain store made under it. */
@inline export function unlockClaims(tail: i64): void {
  atomic.store<i64>(h(L.H_TAIL), tail);
}

// ---------------------------------------------------------------------------------------
// Creating and attaching.

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
  for (let i = 0; i < readers; i++) store<i32>(slot(i) + L.S_GROUP, L.NO_SLOT);
  for (let i = 0; i < L.MAX_PRODUCERS; i++) {
    for (let e = 0; e < L.PRODUCER_CLAIMS; e++) store<i64>(claimEntry(producerSlot(i), e), L.NO_CLAIM);
  }
  atomic.store<i32>(h(L.H_VERSION), L.LAYOUT_VERSION);
  atomic.store<i32>(h(L.H_MAGIC), L.MAGIC);
}

/** Reads the header of an existing ring: one of ATTACH_*. */
export function attachRing(): i32 {
  if (atomic.load<i32>(h(L.H_MAGIC)) != L.MAGIC) return L.ATTACH_NO_RING;
  if (atomic.load<i32>(h(L.H_VERSION)) != L.LAYOUT_VERSION) return L.ATTACH_OTHER_VERSION;
  readHeader();
  return L.ATTACH_OK;
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
