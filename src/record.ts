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
