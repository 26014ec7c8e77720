import { type Codec, codecTable } from './codec.js';
import { BusClosedError, DecodeError, InvalidOptionError, ReaderClosedError, TimeoutError, UnknownReaderError } from './errors.js';
import { checkOptions } from './options.js';
import * as L from './layout.js';
import { disownSlot, findSlot, openSlot, releaseGroupIfEmpty, releaseSlot, slotKind, slotName, START_NEWEST, START_OLDEST } from './registry.js';
import type { Ring } from './ring.js';
import { readSeq, recordSize } from './record.js';
import { readerStats, type ReaderStats } from './stats.js';
import { resolveWaitStrategy, type WaitSite, type WaitStrategy, type WaitStrategyName } from './wait-strategy.js';


/** Receives one event. `value` of a raw record is a view of the ring, valid until the handler returns. */
export type Handler<T> = (value: T, topic: string, seq: number) => void;

/** One record as pollRaw() hands it: the same object each time, valid until the handler returns. */
export interface RawRecord {
  /** The ring's whole memory: the payload is `bytes.subarray(offset, offset + length)`. */
  readonly bytes: Uint8Array;
  readonly offset: number;
  readonly length: number;
  readonly topic: string;
  readonly seq: number;
  /** Id of the codec that wrote the payload (0 raw, 1 msgpack, 2 json, 3 structured, 16+ yours). */
  readonly codec: number;
}

/** The reused RawRecord: topic, codec and seq are read from the header only when asked for. */
class RecordView implements RawRecord {
  offset = 0;
  length = 0;
  meta = 0;
  constructor(
    readonly bytes: Uint8Array,
    private readonly words: Int32Array,
    private readonly topics: readonly string[],
  ) {}

  get seq(): number {
    return readSeq(this.words, this.offset - L.RECORD_HEADER);
  }

  get topic(): string {
    return this.topics[this.meta >>> L.TOPIC_SHIFT];
  }

  get codec(): number {
    return (this.meta >> L.CODEC_SHIFT) & L.CODEC_MASK;
  }
}

/** An event as `for await` yields it. */
export interface BusEvent<T> {
  readonly topic: string;
  /** Position of the event in the bus's total order of claims. */
  readonly seq: number;
  readonly value: T;
}

export interface ReaderOptions {
  /** Where a new reader starts: the oldest event still in the ring (default) or the next one published. */
  start?: 'oldest' | 'newest';
  /** Deliver only these topics (others are skipped, still in order). Default: all. */
  topics?: readonly string[];
  /** See an event only after these readers (or groups) have committed past it. */
  after?: readonly string[];
  /** Never hold producers back; when lapped, skip to the oldest event still in the ring and count what was missed. */
  lossy?: boolean;
  /** Join this consumer group: each event goes to exactly one member. */
  group?: string;
  wait?: WaitStrategyName | WaitStrategy;
  /** User codecs this reader can decode (built-ins are always known). */
  codecs?: readonly Codec<any>[];
  /** Take over the slot of a reader whose thread died without closing it. */
  takeover?: boolean;
  /** Most events per poll. Default 256. */
  batchSize?: number;
}


/**
 * A named cursor in the ring. Its position is committed in shared memory after each
 * handler returns, so a successor opened with the same name resumes where it stopped.
 */
export class Reader<T = unknown> implements AsyncIterable<BusEvent<T>> {
  private readonly slot: number;
  private readonly kind: number;
  private readonly group: number;
  private readonly deps: number[];
  private readonly filter: Uint8Array | null;
  private readonly codecs: Codec<any>[];
  private readonly strategy: WaitStrategy;
  private readonly site: WaitSite;
  private readonly batchSize: number;
  private index: number;
  private position: number;
  private pending = 0;
  private expected = -1;
  private open = true;
  /** What read() returned and commit() will consume. */
  private held: { bytes: number; events: number; nextSeq: number } | null = null;
  /** Marks the slot as held by this object, so that a stale object cannot free a successor's slot. */
  private readonly owner = ((Math.random() * 0x7fffffff) | 1) >>> 0;
  private readonly rawRecord: RecordView;
  private readonly fenceWord: number;

  constructor(
    private readonly ring: Ring,
    readonly name: string,
    options: ReaderOptions = {},
  ) {
    checkOptions('reader options', options, READER_OPTIONS);
    const { start = 'oldest', lossy = false, group, takeover = false, batchSize = 256 } = options;
    if (start !== 'oldest' && start !== 'newest') throw new InvalidOptionError(`start must be 'oldest' or 'newest', got ${String(start)}`);
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidOptionError(`batchSize must be a positive integer, got ${batchSize}`);
    if (lossy && group !== undefined) throw new InvalidOptionError('a lossy reader cannot join a consumer group');
    if (lossy && options.after?.length) throw new InvalidOptionError('a lossy reader cannot depend on other readers: it never waits for them');
    this.batchSize = batchSize;
    this.codecs = codecTable(options.codecs ?? []);
    this.strategy = resolveWaitStrategy(options.wait);
    this.filter = null;
    if (options.topics !== undefined) {
      this.filter = new Uint8Array(ring.topics.length);
      for (const topic of options.topics) this.filter[ring.topicId(topic)] = 1;
    }
    this.deps = (options.after ?? []).map((dep) => {
      const slot = findSlot(ring, dep);
      if (slot < 0) throw new UnknownReaderError(dep);
      if (slotKind(ring, slot) === L.KIND_LOSSY) throw new InvalidOptionError(`"${dep}" is a lossy reader; a reader can only depend on readers that see every event`);
      if (slotKind(ring, slot) === L.KIND_MEMBER) {
        const groupName = slotName(ring, Atomics.load(ring.i32, ring.slotWord(slot, L.S_GROUP)));
        throw new InvalidOptionError(`"${dep}" is a member of group "${groupName}": depend on the group, after: ["${groupName}"]`);
      }
      return slot;
    });
    const startCode = start === 'newest' ? START_NEWEST : START_OLDEST;
    this.group = -1;
    let createdGroup = false;
    if (group !== undefined) {
      createdGroup = findSlot(ring, group) < 0;
      this.group = openSlot(ring, group, { kind: L.KIND_GROUP, group: -1, start: startCode, takeover: false, owner: 0 });
      this.kind = L.KIND_MEMBER;
    } else {
      this.kind = lossy ? L.KIND_LOSSY : L.KIND_GATING;
    }
    try {
      this.slot = openSlot(ring, name, { kind: this.kind, group: this.group, start: startCode, takeover, owner: this.owner });
    } catch (error) {
      // a group this call created, left with no member, would hold producers back for ever
      if (createdGroup) releaseGroupIfEmpty(ring, this.group);
      throw error;
    }
    this.index = ring.core.cursorIndex(this.slot);
    this.position = ring.core.cursor(this.slot);
    this.expected = ring.core.slotCounter(this.slot, L.S_NEXT_SEQ);
    this.rawRecord = new RecordView(ring.u8, ring.i32, ring.topics);
    this.fenceWord = ring.slotWord(this.slot, L.S_OWNER);
    const futex = this.deps.length > 0 ? L.H_CURSOR_FUTEX : L.H_DATA_FUTEX;
    const waiters = this.deps.length > 0 ? L.H_CURSOR_WAITERS : L.H_DATA_WAITERS;
    this.site = { words: ring.i32, futex: ring.word(futex), waiters: ring.word(waiters), sliceMs: 100 };
  }

  /**
   * Delivers up to `max` available events to `handler` without waiting, then commits the
   * position once. If the handler throws, the events before it stay committed and the
   * failing one is delivered again by the next poll. Returns the number delivered.
   */
  poll(handler: Handler<T>, max = this.batchSize): number {
    this.checkOpen();
    this.checkNotHeld();
    this.checkHandler(handler);
    max = this.checkMax(max);
    const bytes = this.fill(max);
    if (bytes === 0) return 0;
    if (this.kind === L.KIND_LOSSY) return this.pollLossy(handler, max, bytes);
    const u8 = this.ring.u8;
    return this.walk(bytes, max, (record) => {
      handler(this.decodeAt(record.codec, u8, record.offset, record.length), record.topic, record.seq);
    });
  }

  /**
   * Like poll(), without decoding or allocating: `handler` gets one reused RawRecord whose
   * `bytes` is the ring's memory and whose payload lies at `offset`, `length` bytes long.
   * Valid until the handler returns. For gating readers and group members.
   */
  pollRaw(handler: (record: RawRecord) => void, max = this.batchSize): number {
    this.checkOpen();
    this.checkNotHeld();
    this.checkHandler(handler);
    if (this.kind === L.KIND_LOSSY) {
      throw new InvalidOptionError(`reader "${this.name}" is lossy: what it reads may be overwritten under it, so it gets copies through poll(), not views through pollRaw()`);
    }
    max = this.checkMax(max);
    const bytes = this.fill(max);
    if (bytes === 0) return 0;
    return this.walk(bytes, max, handler);
  }

  /**
   * Hands the events in the next `bytes` (at most `max`, skipping padding, revoked claims
   * and filtered topics) to `visit` as the reused record, then commits the position once.
   * If `visit` throws, the events before it stay committed and the failing one comes again
   * on the next poll. The one loop over records: pollRaw's handler is called from it
   * directly, without a wrapper, because this is the hot path.
   */
  private walk(bytes: number, max: number, visit: (record: RawRecord) => void, hold = false): number {
    const { i32, data, mask } = this.ring;
    const filter = this.filter;
    const record = this.rawRecord;
    const index = this.index;
    let off = 0;
    let delivered = 0;
    let lastEvent = -1; // header of the last event walked: its seq + 1 is committed with the position
    try {
      while (off < bytes && delivered < max) {
        const at = data + ((index + off) & mask);
        const meta = i32[at >> 2];
        const length = i32[(at + L.R_LENGTH) >> 2];
        if ((meta & L.STATE_MASK) === L.STATE_COMMITTED && ((meta >> L.FLAGS_SHIFT) & L.FLAG_PADDING) === 0) {
          if (filter === null || filter[meta >>> L.TOPIC_SHIFT] === 1) {
            record.offset = at + L.RECORD_HEADER;
            record.length = length;
            record.meta = meta;
            visit(record);
            delivered++;
          }
          lastEvent = at; // only once its handler returned
        }
        off += recordSize(length);
      }
    } finally {
      const nextSeq = lastEvent < 0 ? -1 : readSeq(i32, lastEvent) + 1;
      // Held bytes with no event in them (padding, revoked claims) are consumed at once:
      // read() returns nothing, and nothing would ever commit them.
      if (!hold || (delivered === 0 && off > 0)) this.consume(off, delivered, nextSeq);
      else if (off === bytes || delivered === max) this.held = { bytes: off, events: delivered, nextSeq }; // not when a decode threw
    }
    return delivered;
  }

  /**
   * Returns up to `max` available events, decoded, without committing them: call
   * `commit()` once they are processed (and what they produced is published). Until then
   * a reader opened with `takeover` after this thread died gets them again: at-least-once
   * processing of a batch, even with async work between reading and committing.
   */
  read(max = this.batchSize): BusEvent<T>[] {
    this.checkOpen();
    if (this.kind === L.KIND_LOSSY) throw new InvalidOptionError(`reader "${this.name}" is lossy: it never redelivers, so it has nothing to commit; use poll()`);
    if (this.held !== null) throw new InvalidOptionError(`reader "${this.name}": commit() the events read before reading more`);
    max = this.checkMax(max);
    const bytes = this.fill(max);
    const events: BusEvent<T>[] = [];
    if (bytes === 0) return events;
    const u8 = this.ring.u8;
    this.walk(bytes, max, (record) => {
      const value = this.decodeAt(record.codec, u8, record.offset, record.length);
      events.push({ topic: record.topic, seq: record.seq, value });
    }, true);
    return events;
  }

  /** Commits the events the last read() returned. */
  commit(): void {
    this.checkOpen();
    const held = this.held;
    if (held === null) return;
    this.held = null;
    this.consume(held.bytes, held.events, held.nextSeq);
  }

  /**
   * A lossy reader holds nobody back, so producers may overwrite what it reads while it
   * reads. Each record is trusted only after its bytes are copied out and the core says
   * no claim has reached its position + capacity since; the walk is bounded by a tail read
   * before it, so no header from the previous lap (above the tail) is ever taken for new.
   */
  private pollLossy(handler: Handler<T>, max: number, bytes: number): number {
    const { i32, u8, data, mask, topics, core } = this.ring;
    const limit = Math.min(bytes, core.tailPosition() - this.position);
    let off = 0;
    let delivered = 0;
    const events: [T, string, number][] = [];
    while (off < limit && delivered < max) {
      const at = data + ((this.index + off) & mask);
      const meta = Atomics.load(i32, at >> 2);
      const state = meta & L.STATE_MASK;
      if (state !== L.STATE_COMMITTED && state !== L.STATE_REVOKED) break;
      const length = i32[(at + L.R_LENGTH) >> 2];
      if (length < 0 || length > this.ring.maxSpan) {
        this.pending = 0; // only an overwritten header looks like this: resync
        break;
      }
      const seq = readSeq(i32, at);
      const topic = meta >>> L.TOPIC_SHIFT;
      const event = state === L.STATE_COMMITTED && ((meta >> L.FLAGS_SHIFT) & L.FLAG_PADDING) === 0;
      const wanted = event && (this.filter === null || this.filter[topic] === 1);
      const payload = wanted ? u8.slice(at + L.RECORD_HEADER, at + L.RECORD_HEADER + length) : undefined;
      // A read-modify-write orders the plain reads above before the check, on any CPU.
      Atomics.add(i32, this.fenceWord, 0);
      if (core.lapped(this.position + off)) {
        this.pending = 0; // the next fill resyncs
        break;
      }
      if (event) {
        if (seq > this.expected) core.addSlotCounter(this.slot, L.S_MISSED, seq - this.expected);
        this.expected = seq + 1;
      }
      if (payload !== undefined) {
        events.push([this.decode((meta >> L.CODEC_SHIFT) & L.CODEC_MASK, payload), topics[topic], seq]);
        delivered++;
      }
      off += recordSize(length);
    }
    if (off > 0) this.consume(off, delivered, this.expected);
    if (off === 0 || off < limit) this.pending = 0;
    // Handlers run after the walk, on copies. A lossy reader never redelivers: if a handler
    // throws, the events after it in this batch count as missed.
    for (let i = 0; i < events.length; i++) {
      try {
        handler(events[i][0], events[i][1], events[i][2]);
      } catch (error) {
        const lost = events.length - i - 1; // counted as consumed when the batch was committed
        if (lost > 0) {
          core.addSlotCounter(this.slot, L.S_MISSED, lost);
          core.addSlotCounter(this.slot, L.S_CONSUMED, -lost);
        }
        throw error;
      }
    }
    return delivered;
  }

  /**
   * Blocks until there is something to poll (true), or until `timeoutMs` passes or the bus
   * is closed and this reader has consumed everything (false). For worker threads.
   */
  wait(timeoutMs = Infinity): boolean {
    this.checkOpen();
    if (this.fill(this.batchSize) > 0) return true;
    const started = performance.now();
    const ready = this.strategy.waitSync(this.site, () => !this.open || this.fill(this.batchSize) > 0 || this.ended, started + timeoutMs);
    this.ring.core.addSlotCounter(this.slot, L.S_WAIT_NS, (performance.now() - started) * 1e6);
    return ready && this.pending > 0;
  }

  /** Like wait(), without blocking the event loop. */
  async waitAsync(timeoutMs = Infinity): Promise<boolean> {
    this.checkOpen();
    if (this.fill(this.batchSize) > 0) return true;
    const started = performance.now();
    const ready = await this.strategy.waitAsync(this.site, () => !this.open || this.fill(this.batchSize) > 0 || this.ended, started + timeoutMs);
    this.ring.core.addSlotCounter(this.slot, L.S_WAIT_NS, (performance.now() - started) * 1e6);
    return ready && this.pending > 0;
  }

  /**
   * Polls and waits until `count` events were delivered; throws TimeoutError after
   * `timeoutMs`. A convenience for tests and simple workers.
   */
  take(count: number, handler: Handler<T>, timeoutMs = Infinity): void {
    const deadline = performance.now() + timeoutMs;
    let taken = 0;
    while (taken < count) {
      taken += this.poll(handler, Math.min(this.batchSize, count - taken));
      if (taken < count && !this.wait(deadline - performance.now())) {
        if (performance.now() >= deadline) throw new TimeoutError(`reader "${this.name}" taking ${count} events (got ${taken})`, timeoutMs);
        if (this.ended) throw new BusClosedError(`the bus closed after reader "${this.name}" took ${taken} of the ${count} events it was asked to take`);
      }
    }
  }

  /**
   * Yields events until the bus is closed and everything before close() was read.
   * An event's position is committed when the loop asks for the next one; leaving the
   * loop early (break, throw) leaves the current event uncommitted: it is delivered again.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<BusEvent<T>, void, undefined> {
    this.checkOpen();
    this.checkNotHeld();
    if (this.kind === L.KIND_LOSSY) {
      // A lossy reader promises no redelivery: events are handed out a batch at a time.
      while (this.open) {
        const batch: BusEvent<T>[] = [];
        this.poll((value, topic, seq) => batch.push({ topic, seq, value }));
        yield* batch;
        if (batch.length === 0 && (!this.open || !(await this.waitAsync()))) return;
      }
      return;
    }
    const { i32, u8, data, mask, topics } = this.ring;
    for (;;) {
      if (!this.open) return;
      const bytes = this.pending > 0 ? this.pending : this.fill(this.batchSize);
      if (bytes === 0) {
        if (this.ended) return;
        await this.waitAsync();
        continue;
      }
      const at = data + (this.index & mask);
      const meta = i32[at >> 2];
      const length = i32[(at + L.R_LENGTH) >> 2];
      const size = recordSize(length);
      if ((meta & L.STATE_MASK) !== L.STATE_COMMITTED || ((meta >> L.FLAGS_SHIFT) & L.FLAG_PADDING) !== 0) {
        this.consume(size, 0, -1);
        continue;
      }
      const seq = readSeq(i32, at);
      const topic = meta >>> L.TOPIC_SHIFT;
      if (this.filter !== null && this.filter[topic] !== 1) {
        this.consume(size, 0, seq + 1);
        continue;
      }
      yield { topic: topics[topic], seq, value: this.decode((meta >> L.CODEC_SHIFT) & L.CODEC_MASK, u8.subarray(at + L.RECORD_HEADER, at + L.RECORD_HEADER + length)) };
      if (!this.open) return; // closed by the loop body: the position is no longer ours to move
      this.consume(size, 1, seq + 1);
    }
  }

  /** Events this lossy reader missed because producers lapped it. */
  get missed(): number {
    return this.ring.core.slotCounter(this.slot, L.S_MISSED);
  }

  stats(): ReaderStats {
    return readerStats(this.ring, this.slot, this.name);
  }

  /** Stops reading here. The position stays in the ring and keeps gating producers: a reader opened with the same name resumes from it. */
  close(): void {
    if (!this.open) return;
    this.open = false;
    disownSlot(this.ring, this.slot, this.owner);
    this.ring.core.wakeAll(); // a for-await of this reader asleep in this thread ends now
  }

  /** Removes the reader: its position is forgotten and it no longer holds producers back. */
  unsubscribe(): void {
    this.checkOpen();
    if (this.kind === L.KIND_MEMBER && this.ring.core.memberPending(this.slot) > 0) {
      throw new InvalidOptionError(`member "${this.name}" still holds a batch that no other member will get; poll() it to the end first, or close() to leave it for a member opened with the same name`);
    }
    this.open = false;
    releaseSlot(this.ring, this.slot, this.owner);
    this.ring.core.wakeAll();
  }


  private checkOpen(): void {
    if (!this.open) throw new ReaderClosedError(this.name);
  }

  private checkNotHeld(): void {
    if (this.held !== null) throw new InvalidOptionError(`reader "${this.name}": commit() the events read() returned before polling`);
  }

  private checkMax(max: number): number {
    if (!(max >= 1)) throw new InvalidOptionError(`reader "${this.name}": max must be a positive number of events, got ${max}`);
    return Math.min(Math.floor(max), 0x7fffffff);
  }

  private checkHandler(handler: unknown): void {
    if (typeof handler !== 'function') throw new InvalidOptionError(`reader "${this.name}": the handler must be a function, got ${typeof handler}`);
  }

  /** Bytes readable now, up to `max` events (for a member: the batch it holds, or a new one). */
  private fill(max: number): number {
    const core = this.ring.core;
    if (this.kind === L.KIND_MEMBER) {
      // a member's batch is taken off the group: finish it before taking another
      if (this.pending > 0) return this.pending;
      this.pending = core.memberPending(this.slot) || core.groupClaim(this.slot, this.group, max, this.depLimit());
      if (this.pending > 0) {
        this.index = core.cursorIndex(this.slot);
        this.position = core.cursor(this.slot);
      }
    } else {
      if (this.kind === L.KIND_LOSSY && core.lapped(this.position)) {
        const seq = core.resync(this.slot);
        if (seq > this.expected) core.addSlotCounter(this.slot, L.S_MISSED, seq - this.expected);
        this.expected = seq;
        this.position = core.cursor(this.slot);
        this.index = core.cursorIndex(this.slot);
      }
      this.pending = core.available(this.slot, max, this.depLimit());
    }
    return this.pending;
  }

  private consume(bytes: number, events: number, nextSeq: number): void {
    if (bytes === 0) return;
    const core = this.ring.core;
    core.advance(this.slot, bytes, events, nextSeq);
    this.pending -= bytes;
    this.index = (this.index + bytes) & this.ring.mask;
    this.position += bytes;
    if (this.kind === L.KIND_MEMBER && this.pending === 0) core.memberDone(this.slot, 0);
  }

  /** Decodes the record at `memory[offset, offset + length)`, in place where the codec can. */
  private decodeAt(id: number, memory: Uint8Array, offset: number, length: number): T {
    const codec = this.codecs[id];
    if (codec?.decodeRange === undefined) return this.decode(id, memory.subarray(offset, offset + length));
    return codec.decodeRange(memory, offset, offset + length) as T;
  }

  private decode(id: number, bytes: Uint8Array): T {
    const codec = this.codecs[id];
    if (codec === undefined) {
      throw new DecodeError(`reader "${this.name}" got a record in codec ${id}, which it does not know; pass that codec in reader options { codecs: [...] }`);
    }
    return codec.decode(bytes) as T;
  }

  private depLimit(): number {
    if (this.deps.length === 0) return -1;
    let limit = Infinity;
    for (const dep of this.deps) limit = Math.min(limit, this.ring.core.gatePosition(dep));
    return limit;
  }

  /** True once the bus is closed and this reader has read everything published before. */
  get ended(): boolean {
    if (!this.ring.closed) return false;
    const core = this.ring.core;
    const at = this.kind === L.KIND_MEMBER ? core.gatePosition(this.group) : core.cursor(this.slot);
    return this.pending === 0 && at >= core.tailPosition();
  }

}

const READER_OPTIONS: readonly (keyof ReaderOptions)[] = ['start', 'topics', 'after', 'lossy', 'group', 'wait', 'codecs', 'takeover', 'batchSize'];
