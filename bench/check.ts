// What every consumer does with every event, whatever carried it: check it and count it.
// Used in reader workers, in piscina tasks and, for the postMessage transports, in the main
// thread. A failed check throws CheckFailed; the consumer reports it and the run fails.
import { hashRaw, hashTick, PAYLOAD40, PAYLOAD_BYTES, type PayloadKind, readTextEvent, seqHash, type Tick, TS0 } from './payload.js';

export class CheckFailed extends Error {}

export function fail(message: string): never {
  throw new CheckFailed(message);
}

const TWO_32 = 4294967296;

/**
 * Checks a stream of events from `producers` producers. `strict`: every event of each
 * producer, in its order (unicast, multicast, sequencer). Not strict: a consumer-group
 * member, which sees a subset, still in each producer's order; the main thread then checks
 * that the members' counts and checksums add up.
 */
export class Checker {
  count = 0;
  checksum = 0;
  /** false: no order check at all (piscina hands tasks to its threads in no promised order). */
  ordered = true;
  readonly bytes: number;
  readonly words: number;
  /** The sequence number expected next from each producer (strict), or the lowest allowed. */
  private readonly next: number[];

  constructor(
    readonly kind: PayloadKind,
    readonly producers: number,
    readonly strict: boolean,
  ) {
    this.bytes = PAYLOAD_BYTES[kind];
    this.words = this.bytes >> 2;
    this.next = Array.from({ length: producers }, (_, p) => p);
  }

  reset(): void {
    this.count = 0;
    this.checksum = 0;
    for (let p = 0; p < this.producers; p++) this.next[p] = p;
  }

  private order(seq: number, p: number): void {
    const e = this.next[p];
    if (seq === e || (!this.strict && seq > e) || !this.ordered) {
      this.next[p] = seq + this.producers;
      return;
    }
    const who = this.producers > 1 ? ` from producer ${p}` : '';
    fail(
      seq > e
        ? `lost or reordered events${who}: expected sequence ${e}, got ${seq} (${(seq - e) / this.producers} skipped)`
        : `out of order or duplicated${who}: expected sequence ${this.strict ? e : `> ${e - this.producers}`}, got ${seq}`,
    );
  }

  /** The raw event of `length` bytes whose first word is `w[i]`. */
  raw(w: Int32Array, i: number, length: number): void {
    const words = this.words;
    if (length !== this.bytes) fail(`event #${this.count} has ${length} bytes, expected ${this.bytes}`);
    const lo = w[i];
    const hi = w[i + 1];
    const seq = hi === 0 ? lo >>> 0 : (lo >>> 0) + (hi >>> 0) * TWO_32;
    const P = this.producers;
    const p = P === 1 ? 0 : seq % P;
    if (seq !== this.next[p]) this.order(seq, p);
    else this.next[p] = seq + P;
    if (w[i + words - 1] !== ~seq) fail(`corrupt event #${seq}: its tail guard does not match its sequence number`);
    this.checksum = (this.checksum + hashRaw(w, i, words)) | 0;
    this.count++;
  }

  /** Raw events packed back to back in `u8` (one postMessage of a batch, or one event). */
  rawPacked(u8: Uint8Array): void {
    if (u8.byteLength % this.bytes !== 0 || u8.byteLength === 0) fail(`a message of ${u8.byteLength} bytes is not a whole number of ${this.bytes}-byte events`);
    const w = new Int32Array(u8.buffer, u8.byteOffset, u8.byteLength >> 2);
    for (let i = 0; i < w.length; i += this.words) this.raw(w, i, this.bytes);
  }

  private textHash: ((seq: number) => number) | undefined;

  /** The 64-byte event written as a line of text (payload.ts) at `at` of `s`. */
  text(s: string, at: number): void {
    const seq = readTextEvent(s, at);
    if (seq < 0) fail(`corrupt text event #${this.count}: ${JSON.stringify(s.slice(at, at + 64))}`);
    const P = this.producers;
    const p = P === 1 ? 0 : seq % P;
    if (seq !== this.next[p]) this.order(seq, p);
    else this.next[p] = seq + P;
    this.textHash ??= seqHash('raw64');
    this.checksum = (this.checksum + this.textHash(seq)) | 0;
    this.count++;
  }

  object(v: Tick): void {
    if (typeof v !== 'object' || v === null || v.type !== 'tick' || typeof v.seq !== 'number')
      fail(`event #${this.count} is not a tick: ${JSON.stringify(v)?.slice(0, 80)}`);
    const seq = v.seq;
    const P = this.producers;
    const p = P === 1 ? 0 : seq % P;
    if (seq !== this.next[p]) this.order(seq, p);
    else this.next[p] = seq + P;
    if (v.ts !== TS0 + seq || v.payload !== PAYLOAD40) fail(`corrupt event #${seq}: ${JSON.stringify(v).slice(0, 120)}`);
    this.checksum = (this.checksum + hashTick(v)) | 0;
    this.count++;
  }

  /** Whatever one message carried: an event or a batch of them (an array of ticks, or packed raw events). */
  message(m: unknown): void {
    if (this.kind === 'msgpack') {
      if (Array.isArray(m)) for (const v of m) this.object(v as Tick);
      else this.object(m as Tick);
    } else if (m instanceof Uint8Array) {
      this.rawPacked(m);
    } else {
      fail(`a message of an unexpected kind: ${Object.prototype.toString.call(m)}`);
    }
  }
}
