import * as L from './layout.js';

// Record descriptor: reading a record's header (src/layout.ts draws it). The same accessors,
// under the same names, serve the core (assembly/ring.ts).

const TWO_32 = 4294967296;

/** One of STATE_*. */
export function recordState(meta: number): number {
  return meta & L.STATE_MASK;
}

/** The record fills the end of the data region at the wrap: no event. */
export function isPadding(meta: number): boolean {
  return ((meta >> L.FLAGS_SHIFT) & L.FLAG_PADDING) !== 0;
}

/** A committed record that holds an event (not padding, not revoked). */
export function isEvent(meta: number): boolean {
  return recordState(meta) === L.STATE_COMMITTED && !isPadding(meta);
}

export function topicOf(meta: number): number {
  return meta >>> L.TOPIC_SHIFT;
}

export function codecOf(meta: number): number {
  return (meta >> L.CODEC_SHIFT) & L.CODEC_MASK;
}

/** Bytes of key before the payload: KEY_BYTES for a keyed record, else 0. */
export function keyBytes(meta: number): number {
  return (meta & L.KEYED_META) === 0 ? 0 : L.KEY_BYTES;
}

/** What of a record's meta word stays when the record is copied into another ring: its codec and key flag. */
export function keptMeta(meta: number): number {
  return meta & ((L.CODEC_MASK << L.CODEC_SHIFT) | L.KEYED_META);
}

/** A meta word without its state (claim() adds STATE_CLAIMED; a batch's later records, STATE_COMMITTED). */
export function packMeta(topic: number, codec: number, keyed: boolean): number {
  return (topic << L.TOPIC_SHIFT) | (codec << L.CODEC_SHIFT) | (keyed ? L.KEYED_META : 0);
}

// A record's 64-bit sequence number as two 32-bit words: exact below 2^53, far beyond any
// count of events a ring sees. `at` is the byte offset of the record's header in `words`.
// Plain reads: seq is written before the atomic store that publishes the record (the
// tail's, for a claim; its meta's, for a commit), and callers read it only after loading
// that word atomically. A lossy reader checks lapped() afterwards before trusting it.

export function readSeq(words: Int32Array, at: number): number {
  return (words[(at + L.R_SEQ) >> 2] >>> 0) + words[(at + L.R_SEQ + 4) >> 2] * TWO_32;
}

export function writeSeq(words: Int32Array, at: number, seq: number): void {
  // `%` and `/` on a double cost a batch publish 15%: below 2^31 (a Smi) neither is needed.
  if (seq < 0x80000000) {
    words[(at + L.R_SEQ) >> 2] = seq;
    words[(at + L.R_SEQ + 4) >> 2] = 0;
  } else {
    words[(at + L.R_SEQ) >> 2] = seq % TWO_32;
    words[(at + L.R_SEQ + 4) >> 2] = Math.floor(seq / TWO_32);
  }
}

/** Bytes a record of `payload` bytes takes in the ring, header and alignment included. */
export function recordSize(payload: number): number {
  return (L.RECORD_HEADER + payload + L.RECORD_ALIGN - 1) & ~(L.RECORD_ALIGN - 1);
}
