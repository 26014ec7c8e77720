// The 64-byte event both transports carry, and how the reader checks it.
//
//   bytes 0..7    sequence number (u64, little-endian): must go 0, 1, 2, ... within a run
//   bytes 8..59   a fixed filler pattern
//   bytes 60..63  ~low 32 bits of the sequence number: catches a torn or partial copy
//
// The reader folds every byte (as 16 little-endian words) into a running checksum; the
// main thread compares it with checksumOf(n), computed outside the timed region.
// Both sides use DataView in little-endian, so the check holds on any platform.
//
// The zero-copy ring variant (claim + pollRaw) writes and reads the same 16 words through
// an Int32Array over the ring's whole memory instead (stampWords, hashWords): the word
// values, and so the checksum, are the same as through DataView; only on a big-endian
// machine would the bytes in memory be ordered differently.

export const EVENT_BYTES = 64;
export const WORDS = EVENT_BYTES / 4;
const TWO_32 = 4294967296;

export function fillerWord(k: number): number {
  return Math.imul(k + 1, 0x9e3779b1) | 0;
}

/** Writes the fixed part of an event (everything but the sequence words). */
export function initPayload(view: DataView, offset = 0): void {
  for (let k = 2; k < WORDS - 1; k++) view.setInt32(offset + 4 * k, fillerWord(k), true);
}

/** Writes the per-event part: the sequence number and its tail guard. */
export function stampPayload(view: DataView, offset: number, seq: number): void {
  view.setUint32(offset, seq >>> 0, true);
  view.setUint32(offset + 4, Math.floor(seq / TWO_32), true);
  view.setInt32(offset + EVENT_BYTES - 4, ~seq, true);
}

/**
 * Hash of one event: each of its 16 words times its own odd constant, summed. Every word
 * is a bijection of itself, so a change to any one byte changes the hash; the products are
 * independent, so the CPU computes them in parallel (a serial hash costs the reader more
 * than the ring does). Unrolled on purpose.
 */
export function hashEvent(v: DataView, o: number): number {
  return (
    (Math.imul(v.getInt32(o, true), 0x9e3779b1) +
      Math.imul(v.getInt32(o + 4, true), 0x85ebca77) +
      Math.imul(v.getInt32(o + 8, true), 0xc2b2ae3d) +
      Math.imul(v.getInt32(o + 12, true), 0x27d4eb2f) +
      Math.imul(v.getInt32(o + 16, true), 0x165667b1) +
      Math.imul(v.getInt32(o + 20, true), 0xd3a2646d) +
      Math.imul(v.getInt32(o + 24, true), 0xfd7046c5) +
      Math.imul(v.getInt32(o + 28, true), 0xb55a4f09) +
      Math.imul(v.getInt32(o + 32, true), 0x7feb352d) +
      Math.imul(v.getInt32(o + 36, true), 0x846ca68b) +
      Math.imul(v.getInt32(o + 40, true), 0x2c1b3c6d) +
      Math.imul(v.getInt32(o + 44, true), 0x297a2d39) +
      Math.imul(v.getInt32(o + 48, true), 0x9e3779b9) +
      Math.imul(v.getInt32(o + 52, true), 0x6a09e667) +
      Math.imul(v.getInt32(o + 56, true), 0xbb67ae85) +
      Math.imul(v.getInt32(o + 60, true), 0x3c6ef373)) |
    0
  );
}

/** hashEvent() of the event whose first word is `words[i]` (i = byte offset >> 2). */
export function hashWords(w: Int32Array, i: number): number {
  return (
    (Math.imul(w[i], 0x9e3779b1) +
      Math.imul(w[i + 1], 0x85ebca77) +
      Math.imul(w[i + 2], 0xc2b2ae3d) +
      Math.imul(w[i + 3], 0x27d4eb2f) +
      Math.imul(w[i + 4], 0x165667b1) +
      Math.imul(w[i + 5], 0xd3a2646d) +
      Math.imul(w[i + 6], 0xfd7046c5) +
      Math.imul(w[i + 7], 0xb55a4f09) +
      Math.imul(w[i + 8], 0x7feb352d) +
      Math.imul(w[i + 9], 0x846ca68b) +
      Math.imul(w[i + 10], 0x2c1b3c6d) +
      Math.imul(w[i + 11], 0x297a2d39) +
      Math.imul(w[i + 12], 0x9e3779b9) +
      Math.imul(w[i + 13], 0x6a09e667) +
      Math.imul(w[i + 14], 0xbb67ae85) +
      Math.imul(w[i + 15], 0x3c6ef373)) |
    0
  );
}

/** The filler words 2..14, as constants: written per event by stampWords. */
const F2 = fillerWord(2);
const F3 = fillerWord(3);
const F4 = fillerWord(4);
const F5 = fillerWord(5);
const F6 = fillerWord(6);
const F7 = fillerWord(7);
const F8 = fillerWord(8);
const F9 = fillerWord(9);
const F10 = fillerWord(10);
const F11 = fillerWord(11);
const F12 = fillerWord(12);
const F13 = fillerWord(13);
const F14 = fillerWord(14);

/** Writes a whole event (all 16 words) at `w[i]`: what initPayload + stampPayload write. */
export function stampWords(w: Int32Array, i: number, seq: number): void {
  w[i] = seq | 0;
  w[i + 1] = seq > 0xffffffff ? Math.floor(seq / TWO_32) : 0;
  w[i + 2] = F2;
  w[i + 3] = F3;
  w[i + 4] = F4;
  w[i + 5] = F5;
  w[i + 6] = F6;
  w[i + 7] = F7;
  w[i + 8] = F8;
  w[i + 9] = F9;
  w[i + 10] = F10;
  w[i + 11] = F11;
  w[i + 12] = F12;
  w[i + 13] = F13;
  w[i + 14] = F14;
  w[i + 15] = ~seq;
}

/** Folds one event into the running checksum: order matters across events too. */
export function foldEvent(acc: number, view: DataView, offset: number): number {
  return (Math.imul(acc, 31) + hashEvent(view, offset)) | 0;
}

/** What the reader's checksum must be after events 0..n-1, computed from scratch. */
export function checksumOf(n: number): number {
  const view = new DataView(new ArrayBuffer(EVENT_BYTES));
  initPayload(view);
  let acc = 0;
  for (let seq = 0; seq < n; seq++) {
    stampPayload(view, 0, seq);
    acc = foldEvent(acc, view, 0);
  }
  return acc;
}

/** Sequence number stored in an event. */
export function seqOf(view: DataView, offset: number): number {
  return view.getUint32(offset, true) + view.getUint32(offset + 4, true) * TWO_32;
}

/**
 * Checks one event against the sequence number expected next. Returns null when it is
 * right, else a sentence saying what is wrong.
 */
export function verifyEvent(view: DataView, offset: number, length: number, expected: number): string | null {
  if (length !== EVENT_BYTES) return `event #${expected} has ${length} bytes, expected ${EVENT_BYTES}`;
  const seq = seqOf(view, offset);
  if (seq !== expected) {
    return seq > expected
      ? `lost or reordered events: expected sequence ${expected}, got ${seq} (${seq - expected} skipped)`
      : `out of order or duplicated: expected sequence ${expected}, got ${seq}`;
  }
  if (view.getInt32(offset + EVENT_BYTES - 4, true) !== ~seq) return `corrupt event #${seq}: its tail guard does not match its sequence number`;
  return null;
}

/**
 * verifyEvent() for the event whose first word is `w[i]`: null when it is event `expected`,
 * else what is wrong. The reader compares three words inline and calls this only to
 * describe a failure (or when `expected` needs more than 32 bits).
 */
export function verifyWords(w: Int32Array, i: number, length: number, expected: number): string | null {
  if (length !== EVENT_BYTES) return `event #${expected} has ${length} bytes, expected ${EVENT_BYTES}`;
  const seq = (w[i] >>> 0) + (w[i + 1] >>> 0) * TWO_32;
  if (seq !== expected) {
    return seq > expected
      ? `lost or reordered events: expected sequence ${expected}, got ${seq} (${seq - expected} skipped)`
      : `out of order or duplicated: expected sequence ${expected}, got ${seq}`;
  }
  if (w[i + 15] !== ~seq) return `corrupt event #${seq}: its tail guard does not match its sequence number`;
  return null;
}

/** Faults the producer can inject on purpose (--fault), to show that the checks fire. */
export type Fault = 'none' | 'lose' | 'reorder' | 'corrupt';
