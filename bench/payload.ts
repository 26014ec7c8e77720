// The events every transport carries, how producers write them and how consumers check them.
//
// Raw events of S bytes (64 or 4096), W = S / 4 little-endian 32-bit words:
//
//   words 0, 1      sequence number (u64): producer p of P writes p, p + P, p + 2P, ...
//   words 2..W-2    a fixed filler pattern
//   word  W-1       ~low 32 bits of the sequence number: catches a torn or partial copy
//
// Objects (the small-object payload, a typical telemetry tick):
//   { type: 'tick', seq, ts: TS0 + seq, payload: a fixed string of 40 characters }
//
// A consumer checks every event (length, each producer's order, the tail guard or every
// field) and adds its hash to a checksum. The checksum is a sum, so it does not depend on
// how the events of several producers interleave (order is checked by sequence number); the
// main thread compares it with expectedChecksum(kind, n), computed outside the timed region.
// Every hash word is multiplied by an odd constant (a bijection), so any changed byte
// changes the hash.

export type PayloadKind = 'raw64' | 'raw4k' | 'msgpack';

export const PAYLOAD_BYTES: Record<PayloadKind, number> = { raw64: 64, raw4k: 4096, msgpack: 0 };

export const EVENT_BYTES = 64;
const TWO_32 = 4294967296;

/** The ts of event `seq` is TS0 + seq: checked by the consumer. */
export const TS0 = 1_763_000_000_000;
/** The small object's 40-character payload. */
export const PAYLOAD40 = 'ringbus-bench-0123456789-abcdefghijklmno';

export interface Tick {
  type: string;
  seq: number;
  ts: number;
  payload: string;
}

export function tick(seq: number): Tick {
  return { type: 'tick', seq, ts: TS0 + seq, payload: PAYLOAD40 };
}

export function fillerWord(k: number): number {
  return Math.imul(k + 1, 0x9e3779b1) | 0;
}

const C = [
  0x9e3779b1, 0x85ebca77, 0xc2b2ae3d, 0x27d4eb2f, 0x165667b1, 0xd3a2646d, 0xfd7046c5, 0xb55a4f09, 0x7feb352d, 0x846ca68b, 0x2c1b3c6d, 0x297a2d39, 0x9e3779b9,
  0x6a09e667, 0xbb67ae85, 0x3c6ef373,
];

/** The multiplier of word k (odd). */
function mul(k: number): number {
  return (C[k & 15] + ((k >> 4) << 1)) | 0;
}

/** Hash of the 64-byte event whose first word is `w[i]`. Unrolled on purpose: the products are independent. */
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

const MULS = Int32Array.from({ length: 1024 }, (_, k) => mul(k));

/** Hash of a raw event of `words` words (any multiple of 16) at `w[i]`: hashWords() for 16. */
export function hashRaw(w: Int32Array, i: number, words: number): number {
  if (words === 16) return hashWords(w, i);
  let h0 = 0;
  let h1 = 0;
  for (let k = 0; k < words; k += 2) {
    h0 = (h0 + Math.imul(w[i + k], MULS[k & 1023])) | 0;
    h1 = (h1 + Math.imul(w[i + k + 1], MULS[(k + 1) & 1023])) | 0;
  }
  return (h0 + h1) | 0;
}

export function hashTick(v: Tick): number {
  return (Math.imul(v.seq | 0, 0x9e3779b1) + Math.imul((v.ts - TS0) | 0, 0x85ebca77) + v.payload.length) | 0;
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

/** Writes a whole 64-byte event (all 16 words) at `w[i]`. */
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

/** A raw event of `bytes` bytes with sequence number 0: copied in, then stamped (stampSeq). */
export function rawTemplate(bytes: number): Uint8Array {
  const u8 = new Uint8Array(bytes);
  const w = new Int32Array(u8.buffer);
  for (let k = 2; k < w.length - 1; k++) w[k] = fillerWord(k);
  w[w.length - 1] = ~0;
  return u8;
}

/** Writes the per-event words (sequence number and tail guard) of an event already holding the template. */
export function stampSeq(w: Int32Array, i: number, words: number, seq: number): void {
  w[i] = seq | 0;
  w[i + 1] = seq > 0xffffffff ? Math.floor(seq / TWO_32) : 0;
  w[i + words - 1] = ~seq;
}

/**
 * Writes raw events into memory the producer owns (a ring claim, a batch buffer): the
 * 64-byte event as 16 word stores, a larger one as a copy of the template plus three words.
 */
export class RawWriter {
  readonly words: number;
  private readonly template: Uint8Array;
  constructor(readonly bytes: number) {
    this.words = bytes >> 2;
    this.template = rawTemplate(bytes);
  }
  /** Event `seq` at byte offset `at` (a multiple of 4) of `u8`, whose words are `w`. */
  write(u8: Uint8Array, w: Int32Array, at: number, seq: number): void {
    if (this.words === 16) {
      stampWords(w, at >> 2, seq);
      return;
    }
    u8.set(this.template, at);
    stampSeq(w, at >> 2, this.words, seq);
  }
}

/** Faults a producer can inject on purpose (--fault), to show that the checks fire. */
export type Fault = 'none' | 'lose' | 'reorder' | 'corrupt';

/**
 * Which sequence number producer `p` of `P` writes as its `i`-th event of a run of `count`,
 * and whether to corrupt it: producer 0 injects the fault once, in the middle.
 */
export class SeqPlan {
  private faultAt = -1;
  private restoreAt = -1;
  constructor(
    private readonly p: number,
    private readonly P: number,
    private readonly fault: Fault,
  ) {}
  arm(count: number): void {
    this.faultAt = this.restoreAt = -1;
    if (this.fault === 'none' || this.p !== 0) return;
    this.faultAt = count >> 1;
    this.restoreAt = this.fault === 'reorder' ? this.faultAt + 1 : -1;
  }
  /** True when events first..first+k-1 are all plain (no fault among them). */
  plain(first: number, k: number): boolean {
    return (this.faultAt < first || this.faultAt >= first + k) && (this.restoreAt < first || this.restoreAt >= first + k);
  }
  seq(i: number): number {
    if (i === this.faultAt && this.fault !== 'corrupt') return (i + 1) * this.P + this.p; // lose: i is never sent; reorder: i+1 goes first
    if (i === this.restoreAt) return (i - 1) * this.P + this.p;
    return i * this.P + this.p;
  }
  corrupt(i: number): boolean {
    return i === this.faultAt && this.fault === 'corrupt';
  }
}

/** Flips one bit of a raw event's filler (at word index i of w). */
export function corruptRaw(w: Int32Array, i: number): void {
  w[i + 5] ^= 0x100;
}

export function corruptTick(v: Tick): Tick {
  return { ...v, payload: 'X' + v.payload.slice(1) };
}

// ---- the expected checksum, computed in the main thread --------------------------------

function rawSeqHash(kind: PayloadKind): (seq: number) => number {
  const bytes = PAYLOAD_BYTES[kind];
  const words = bytes >> 2;
  const w0 = new Int32Array(rawTemplate(bytes).buffer);
  const h0 = hashRaw(w0, 0, words); // sequence number 0
  const mLast = words === 16 ? 0x3c6ef373 : mul(words - 1);
  const base = (h0 - Math.imul(-1, mLast)) | 0; // the hash without its sequence words
  return (seq) => (base + Math.imul(seq | 0, 0x9e3779b1) + Math.imul(seq > 0xffffffff ? Math.floor(seq / TWO_32) : 0, 0x85ebca77) + Math.imul(~seq, mLast)) | 0;
}

/** Hash of event `seq` as a consumer computes it. */
export function seqHash(kind: PayloadKind): (seq: number) => number {
  return kind === 'msgpack' ? (seq) => hashTick(tick(seq)) : rawSeqHash(kind);
}

const prefix = new Map<PayloadKind, { n: number; sum: number; hash: (seq: number) => number }>();

/** Sum of the hashes of events 0..n-1 (each is seen once, from whichever producer). */
export function expectedChecksum(kind: PayloadKind, n: number): number {
  let p = prefix.get(kind);
  if (!p || p.n > n) prefix.set(kind, (p = { n: 0, sum: 0, hash: p?.hash ?? seqHash(kind) }));
  let sum = p.sum;
  for (let seq = p.n; seq < n; seq++) sum = (sum + p.hash(seq)) | 0;
  p.n = n;
  p.sum = sum;
  return sum;
}

// ---- the 64-byte event as a line of text (thread-stream carries UTF-8 text) ------------
//
//   bytes 0..15    the sequence number, 16 hex digits
//   bytes 16..54   a fixed filler of 39 characters
//   bytes 55..62   ~seq (low 32 bits), 8 hex digits: the tail guard
//   byte  63       '\n'
// A consumer compares all 64 bytes with the line of its sequence number, and adds that
// sequence number's raw64 hash to its checksum (the same sum as for the binary event).

export const TEXT_FILLER = 'ringbus-bench-filler-0123456789-abcdefg';
const HEX = Uint8Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
const TEXT_TEMPLATE = Uint8Array.from(`${'0'.repeat(16)}${TEXT_FILLER}${'0'.repeat(8)}\n`, (c) => c.charCodeAt(0));
if (TEXT_TEMPLATE.length !== 64) throw new Error(`the text event has ${TEXT_TEMPLATE.length} bytes, not 64`);

function hexInto(b: Uint8Array, at: number, digits: number, value: number): void {
  for (let k = at + digits - 1; k >= at; k--) {
    b[k] = HEX[value % 16];
    value = Math.floor(value / 16);
  }
}

/** Writes event `seq` as a 64-byte line of text into `b` (64 bytes). */
export function writeTextEvent(b: Uint8Array, seq: number): void {
  b.set(TEXT_TEMPLATE);
  hexInto(b, 0, 16, seq);
  hexInto(b, 55, 8, ~seq >>> 0);
}

/** Flips one filler character of a text event (still ASCII). */
export function corruptText(b: Uint8Array): void {
  b[20] ^= 1;
}

function hexAt(s: string, at: number, digits: number): number {
  let v = 0;
  for (let k = at; k < at + digits; k++) {
    const c = s.charCodeAt(k);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1;
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** The sequence number of the text event at `at` of `s`, or -1 if any of its 64 characters is wrong. */
export function readTextEvent(s: string, at: number): number {
  const seq = hexAt(s, at, 16);
  if (seq < 0 || hexAt(s, at + 55, 8) !== ~seq >>> 0 || s.charCodeAt(at + 63) !== 10 || !s.startsWith(TEXT_FILLER, at + 16)) return -1;
  return seq;
}
