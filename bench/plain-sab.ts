// The plain-JS floor: the smallest SharedArrayBuffer ring that moves 64-byte records from
// one thread to another (docs/BENCHMARKS.md, "The floor and the peers"). No features at all: one producer, one
// consumer, fixed 64-byte slots, the producer publishes its head every 64 records (store +
// notify), the consumer stores its tail after each batch; each waits with Atomics.wait in
// 1 ms slices, and only when it must. The ring must not beat it by much, nor lose to it.
//
//   bytes 0..63     i32 HEAD: records published (wraps at 2^32; differences stay exact)
//   bytes 64..127   i32 TAIL: records consumed (its own cache line)
//   bytes 128..     capacity slots of 64 bytes (capacity a power of two)

const HEAD = 0;
const TAIL = 16;
const DATA_WORDS = 32;
/** Records per head publication. */
export const PUBLISH_EVERY = 64;
const SLICE_MS = 1;

export function plainSabStorage(capacityBytes: number): SharedArrayBuffer {
  return new SharedArrayBuffer(DATA_WORDS * 4 + capacityBytes);
}

class Side {
  readonly ctl: Int32Array;
  /** The whole buffer as words: record r lies at words wordOf(r)..wordOf(r) + 15. */
  readonly words: Int32Array;
  readonly u8: Uint8Array;
  readonly capacity: number;
  private readonly mask: number;
  constructor(sab: SharedArrayBuffer) {
    this.ctl = new Int32Array(sab, 0, DATA_WORDS);
    this.words = new Int32Array(sab);
    this.u8 = new Uint8Array(sab);
    this.capacity = (sab.byteLength - DATA_WORDS * 4) >> 6;
    this.mask = this.capacity - 1;
  }
  wordOf(record: number): number {
    return DATA_WORDS + ((record & this.mask) << 4);
  }
}

export class PlainSabProducer extends Side {
  private head = Atomics.load(this.ctl, HEAD);
  private tail = Atomics.load(this.ctl, TAIL);

  /** Waits (1 ms slices) until k slots are free; returns the first record's number. Throws after stallMs. */
  reserve(k: number, stallMs: number): number {
    if (this.capacity - ((this.head - this.tail) | 0) >= k) return this.head;
    const since = performance.now();
    for (;;) {
      this.tail = Atomics.load(this.ctl, TAIL);
      if (this.capacity - ((this.head - this.tail) | 0) >= k) return this.head;
      if (performance.now() - since > stallMs) throw new Error(`the plain-JS ring stayed full for ${stallMs} ms`);
      Atomics.wait(this.ctl, TAIL, this.tail, SLICE_MS);
    }
  }

  /** Publishes the k records written after reserve(). */
  publish(k: number): void {
    this.head = (this.head + k) | 0;
    Atomics.store(this.ctl, HEAD, this.head);
    Atomics.notify(this.ctl, HEAD);
  }
}

export class PlainSabConsumer extends Side {
  private tail = Atomics.load(this.ctl, TAIL);

  /** Hands up to `max` published records to `each` (by word index), then stores the tail; returns how many. */
  poll(max: number, each: (words: Int32Array, at: number) => void): number {
    const available = (Atomics.load(this.ctl, HEAD) - this.tail) | 0;
    if (available === 0) return 0;
    const k = Math.min(available, max);
    const words = this.words;
    for (let j = 0; j < k; j++) each(words, this.wordOf(this.tail + j));
    this.tail = (this.tail + k) | 0;
    Atomics.store(this.ctl, TAIL, this.tail);
    return k;
  }

  /** Waits (1 ms slices) until a record is published or `ms` passed. */
  wait(ms: number): boolean {
    const until = performance.now() + ms;
    while (Atomics.load(this.ctl, HEAD) === this.tail) {
      const left = until - performance.now();
      if (left <= 0) return false;
      Atomics.wait(this.ctl, HEAD, this.tail, Math.min(SLICE_MS, left));
    }
    return true;
  }
}
