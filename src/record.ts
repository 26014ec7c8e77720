import * as L from './layout.js';

const TWO_32 = 4294967296;

// A record's 64-bit sequence number as two 32-bit words: exact below 2^53, far beyond any
// count of events a ring sees. `at` is the byte offset of the record's header in `words`.

export function readSeq(words: Int32Array, at: number): number {
  return (words[(at + L.R_SEQ) >> 2] >>> 0) + words[(at + L.R_SEQ + 4) >> 2] * TWO_32;
}

export function writeSeq(words: Int32Array, at: number, seq: number): void {
  words[(at + L.R_SEQ) >> 2] = seq % TWO_32;
  words[(at + L.R_SEQ + 4) >> 2] = Math.floor(seq / TWO_32);
}

/** Bytes a record of `payload` bytes takes in the ring, header and alignment included. */
export function recordSize(payload: number): number {
  return (L.RECORD_HEADER + payload + L.RECORD_ALIGN - 1) & ~(L.RECORD_ALIGN - 1);
}

const KEYED_META = L.FLAG_KEYED << L.FLAGS_SHIFT;

// A record's meta word (its header's first i32): state, flags, codec and topic.

/** A committed record that is not padding: an event to deliver (or to skip by topic or partition). */
export function isEvent(meta: number): boolean {
  return (meta & L.STATE_MASK) === L.STATE_COMMITTED && ((meta >> L.FLAGS_SHIFT) & L.FLAG_PADDING) === 0;
}

export function topicOf(meta: number): number {
  return meta >>> L.TOPIC_SHIFT;
}

export function codecOf(meta: number): number {
  return (meta >> L.CODEC_SHIFT) & L.CODEC_MASK;
}

/** Bytes before the payload after the header: a keyed record's payload starts after its key. */
export function keyBytesOf(meta: number): number {
  return (meta & KEYED_META) === 0 ? 0 : L.KEY_BYTES;
}
