// The ring's memory layout: the only place an offset is written.
// Compiled twice: by AssemblyScript (every file of assembly/ imports it, integer literals
// become i32) and by TypeScript (src/). Keep it to numeric constants so both read it the
// same way; the accessors over them live beside each side's memory access, under the same
// names: assembly/ring.ts ("Record descriptor") and src/record.ts.
// docs/PROTOCOL.md draws this layout; change both together and bump LAYOUT_VERSION.

export const MAGIC = 0x52425553; // "RBUS"
export const LAYOUT_VERSION = 5;

// The ring starts at page 1: page 0 belongs to the WebAssembly module's own data.
export const RING_BASE = 65536;

// Header: one 64-byte line per group of fields written by the same side.
export const H_MAGIC = 0; // i32
export const H_VERSION = 4; // i32
export const H_CAPACITY = 8; // i32, bytes in the data region, a power of two
export const H_MAX_READERS = 12; // i32, slots in the reader table
export const H_MAX_SPAN = 16; // i32, largest claim in bytes (records + headers)
export const H_CLOSED = 20; // i32, 1 once close() ran
export const H_TOPIC_COUNT = 24; // i32
export const H_TOPIC_HASH = 28; // i32, hash of the topic names, checked on attach
// producers' line
export const H_TAIL = 64; // i64, claim position; bit 0 set while a claimer holds the claim lock
export const H_NEXT_SEQ = 72; // i64, sequence number of the next event claimed
export const H_GATE = 80; // i64, cached minimum of the gating cursors (monotonic)
export const H_EPOCH = 88; // i32, bumped whenever a reader joins
export const H_COUNT_MOVES = 92; // i32, odd while a dead thread's commit count moves into H_COMMITTED (a seqlock for stats)
export const H_COMMITTED = 96; // i64, events committed through producer slots since freed (live slots count their own)
export const H_REVOKED = 104; // i64, claims revoked after their producer stalled or died
export const H_PRODUCER_WAIT_NS = 112; // i64, time producers spent waiting for space
// wake-ups
export const H_DATA_FUTEX = 128; // i32, bumped on commit when readers sleep
export const H_DATA_WAITERS = 132; // i32, readers asleep on H_DATA_FUTEX
export const H_CURSOR_FUTEX = 192; // i32, bumped when a cursor moves and somebody sleeps
export const H_CURSOR_WAITERS = 196; // i32, producers and dependent readers asleep on it
export const H_REGISTRY_LOCK = 200; // i32, serialises reader registration (not on any hot path)
export const HEADER_BYTES = 256;

// Reader table: MAX_READERS slots of SLOT_BYTES after the header.
export const SLOT_BYTES = 128;
export const S_CURSOR = 0; // i64, position of the next record to read (committed); the largest i64 while parked
export const S_KIND = 8; // i32, one of KIND_*
export const S_GROUP = 12; // i32, slot of the member's group, NO_SLOT otherwise
export const S_CONSUMED = 16; // i64, events delivered
export const S_MISSED = 24; // i64, events a lossy reader missed
export const S_WAIT_NS = 32; // i64, time spent waiting for events
export const S_NEXT_SEQ = 40; // i64, sequence number after the last event consumed
export const S_NAME_LENGTH = 48; // i32
export const S_OWNER = 52; // i32, 1 while a Reader object holds the slot
export const S_BATCH_END = 56; // i64, end of a member's batch (its cursor is the start)
export const S_MEMBER_TOPICS = 56; // i32, in a group's slot (which holds no batch): FNV-1a of the topic ids its members take, the same for every member
export const S_NAME = 64; // up to SLOT_NAME_BYTES of UTF-8
export const SLOT_NAME_BYTES = 64;

// Producer table: MAX_PRODUCERS slots of PRODUCER_BYTES after the reader table. A thread
// that publishes owns one slot per ring; each open claim is listed in it, so that when the
// thread dies its claims can be found and revoked (and only then: a live one is waited for).
export const MAX_PRODUCERS = 256;
export const PRODUCER_BYTES = 64;
export const P_OWNER = 0; // i32, OWNER_FREE, the owning thread's threadId + 1, or OWNER_DYING
export const P_OS_THREAD = 4; // i32, the owner's operating-system thread id where known (Linux), else 0
export const P_COMMITTED = 8; // i64, events committed through this slot (its owner alone writes it)
export const P_CLAIMS = 16; // PRODUCER_CLAIMS i64 positions of the owner's open claims, NO_CLAIM when unused
export const PRODUCER_CLAIMS = 6;
// Producer counters: after the data region, one row per producer slot, of COUNTER_HEAD_BYTES
// then COUNTER_TOPIC_BYTES per topic, rounded up to 64 bytes (src/ring.ts computes it: the
// core never reads them). Only the slot's owner writes its row, with plain stores; stats
// sum the rows. f64 words:
export const C_BLOCKED_MS = 0; // ms the slot's current owner waited for space (zeroed when a thread takes the slot)
export const COUNTER_HEAD_BYTES = 16;
export const COUNTER_TOPIC_BYTES = 16; // per topic: events published, payload bytes published (through this slot, by every owner it had)
export const OWNER_FREE = 0;
export const OWNER_DYING = -1; // its death is being handled: claims revoked, then the slot freed
export const NO_CLAIM = -1;

// Keyed group table: KEYED_GROUPS blocks of KEYED_BYTES after the producer table, then the
// data region. A block holds one keyed consumer group's members and its partition table
// (docs/PROTOCOL.md, "Keyed groups"). Written only under the registry lock, each change
// between two stores of K_VERSION (odd while it is being written).
export const KEYED_GROUPS = 8;
export const K_GROUP = 0; // i32, the group's reader slot + 1; 0 while the block is free
export const K_VERSION = 4; // i32, even; odd while the block is being changed
export const K_TOPICS = 8; // i32, FNV-1a of the topic ids the members take: every member takes the same
export const K_MEMBERS = 64; // member table: MAX_KEYED_MEMBERS entries of KM_BYTES
export const MAX_KEYED_MEMBERS = 64;
export const KM_BYTES = 16;
export const KM_SLOT = 0; // i32, the member's reader slot + 1; 0 for a free entry
export const KM_THREAD = 4; // i32, threadId + 1 of the member's thread
export const KM_OS_THREAD = 8; // i32, its operating-system thread id (Linux), else 0
export const KM_ADOPTED = 12; // i32, the block version the member reads by, -1 before its first
export const K_PARTITIONS = K_MEMBERS + MAX_KEYED_MEMBERS * KM_BYTES; // PARTITIONS entries of KP_BYTES
export const PARTITIONS = 256; // a key's partition is its hash & (PARTITIONS - 1)
export const KP_BYTES = 32;
export const KP_OWNER = 0; // i32, reader slot of the member that owns it, NO_SLOT for none
export const KP_VERSION = 4; // i32, block version at which it moved to that owner
export const KP_START = 8; // i64, position from which that owner delivers it
export const KP_PREVIOUS = 16; // i32, reader slot of the member it was taken from at a join, which delivers it up to KP_START; NO_SLOT for none
export const KP_PREVIOUS_FROM = 24; // i64, position from which that member delivered it
export const KEYED_BYTES = K_PARTITIONS + PARTITIONS * KP_BYTES;

export const KIND_FREE = 0;
export const KIND_GATING = 1; // holds producers back
export const KIND_LOSSY = 2; // never holds producers back; told what it missed
export const KIND_GROUP = 3; // a consumer group's shared cursor (gating)
export const KIND_MEMBER = 4; // a group member; gating only while it holds a batch
export const KIND_RESERVED = 5; // slot being set up
export const KIND_KEYED_GROUP = 6; // a keyed group: its cursor is the hand-over floor (IDLE when none)
export const KIND_KEYED_MEMBER = 7; // a keyed group member: a gating cursor over every record

// A slot that holds nothing back (a member between batches, a keyed group with no hand-over
// floor) parks its cursor at the largest i64, about 9.22e18 as a number: a position read at
// or above PARKED_FROM is parked, and setCursorLocked() parks a cursor given one.
export const PARKED_FROM = 9e18;

// Record: a 16-byte header, then the payload, padded to RECORD_ALIGN.
//
//   0       4        8               16
//   +-------+--------+---------------+------------------+
//   | meta  | length | seq (i64)     | payload ...      |
//   +-------+--------+---------------+------------------+
//
//   meta (i32):
//    31            16 15      8 7     4 3     0
//   +----------------+---------+-------+-------+
//   |     topic      |  codec  | flags | state |
//   +----------------+---------+-------+-------+
//
// Ordering: meta is the record's only atomic word. A record's state moves CLAIMED ->
// COMMITTING -> COMMITTED or CLAIMED -> REVOKED by CAS; the atomic store that makes it
// COMMITTED publishes length, seq and payload, which are written plain (and read plain
// after an atomic load of meta, or below a tail read atomically).
export const R_META = 0; // i32, written with atomics
export const R_LENGTH = 4; // i32, payload bytes (the whole claim's span while CLAIMED)
export const R_SEQ = 8; // i64
export const RECORD_HEADER = 16;
export const RECORD_ALIGN = 16;

export const STATE_MASK = 0xf;
export const STATE_CLAIMED = 1; // space reserved, body being written
export const STATE_COMMITTING = 2; // producer won the race against revocation
export const STATE_COMMITTED = 3; // readable
export const STATE_REVOKED = 4; // the claim was abandoned: skip RECORD_HEADER + length bytes

export const FLAG_PADDING = 1; // fills the tail of the data region at the wrap
export const FLAG_KEYED = 2; // the payload starts with KEY_BYTES: the key's hash (i32), then 0 (i32)
export const KEY_BYTES = 8;
export const FLAGS_SHIFT = 4;
export const CODEC_SHIFT = 8;
export const CODEC_MASK = 0xff;
export const TOPIC_SHIFT = 16;
// The header of the padding record that fills the end of the data region at the wrap.
export const PADDING_META = (FLAG_PADDING << FLAGS_SHIFT) | STATE_COMMITTED;
// The bit of a meta word that says the payload starts with a key.
export const KEYED_META = FLAG_KEYED << FLAGS_SHIFT;

// claim() results below zero
export const CLAIM_FULL = -1;
export const CLAIM_BUSY = -2;
export const CLAIM_CLOSED = -3;
export const CLAIM_TOO_LARGE = -4;
export const CLAIM_TOO_MANY = -5; // every claim entry of this thread's producer slot is in use

// commit() results
export const COMMIT_OK = 0;
export const COMMIT_REVOKED = 1;

// attachRing() results
export const ATTACH_OK = 0;
export const ATTACH_NO_RING = 1; // no ring in this memory (no MAGIC)
export const ATTACH_OTHER_VERSION = 2; // laid out by another LAYOUT_VERSION

// registerReader()'s start: where a slot's cursor begins
export const START_OLDEST = 0; // the oldest event retained (the gate)
export const START_NEWEST = 1; // the tail: only events claimed from now on
export const START_KEEP = 2; // where the slot's cursor already is (an existing name resumes)

// Slot numbers crossing the boundary: none (acquireProducer, producerOf, claimOwner; S_GROUP
// of a slot in no group; KP_OWNER of a partition nobody owns).
export const NO_SLOT = -1;
// deadSlot(): the producer slot was not that thread's (already handled, or taken again).
export const NOT_OWNER = -1;
// blockedAt(): the gate moved while it walked; ask again.
export const GATE_MOVED = -1;

export const MIN_CAPACITY = 4096;
export const MAX_CAPACITY = 1 << 30;
