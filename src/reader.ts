import { type AbortOptions, signalOption, waitAbortable } from './abort.js';
import { type Codec, codecTable } from './codec.js';
import { BusClosedError, DecodeError, InvalidOptionError, ReaderClosedError, ReentrantReadError, TimeoutError, UnknownReaderError } from './errors.js';
import * as L from './layout.js';
import { disownSlot, findSlot, openMember, openSlot, releaseSlot, slotGroup, slotKind, slotName } from './registry.js';
import type { Ring } from './ring.js';
import { readSeq, recordSize } from './record.js';
import { ClaimWatch } from './claim-watch.js';
import { joinKeyed, KeyedView, leaveKeyed, topicsPrint } from './keyed.js';
import { readerStats, type ReaderStats } from './stats.js';
import { knownOptions, readerOptions } from './validate.js';
import { resolveWaitStrategy, type WaitSite, type WaitStrategy, type WaitStrategyName } from './wait-strategy.js';

/** A `for await` with a backlog gives its event loop a turn this often (ms), reading the clock every TURN_EVENTS events. */
/** Errors of records this thread's readers consumed because they cannot be decoded. */
const skipped = new WeakSet<DecodeError>();
/** Thrown inside a walk to end it before the current record, which stays for the next read. */
const STOP_BEFORE = Symbol('stop before this record');

const TURN_MS = 10;
const TURN_EVENTS = 16;


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
  /** Where the record's header lies (a keyed record's payload starts after its key). */
  head = 0;
  constructor(
    readonly bytes: Uint8Array,
    private readonly words: Int32Array,
    private readonly topics: readonly string[],
  ) {}

  get seq(): number {
    return readSeq(this.words, this.head);
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
  /** With `group`: a keyed group, where every event of one key goes to the same member, in publish order. */
  keyed?: boolean;
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
  /** Finds the claims of dead threads this reader is stuck behind. */
  private readonly claims: ClaimWatch;
  /** for await: events since the clock was last read, and when the event loop is next due a turn (see takeTurn()). */
  private sinceTurn = 0;
  private turnDue = 0;
  private expected = -1;
  private open = true;
  /** Ended by unsubscribe(), not close(): the slot is freed rather than handed on. */
  private forget = false;
  /** The call delivering this reader's events now ('' for none): reading from inside it is refused. */
  private running = '';
  /** What read() returned and commit() will consume. */
  private held: { bytes: number; events: number; nextSeq: number } | null = null;
  /** Marks the slot as held by this object, so that a stale object cannot free a successor's slot. */
  private readonly owner = ((Math.random() * 0x7fffffff) | 1) >>> 0;
  private readonly rawRecord: RecordView;
  private readonly fenceWord: number;
  /** A keyed member's partitions; null for every other reader. */
  private readonly keyed: KeyedView | null = null;

  constructor(
    private readonly ring: Ring,
    readonly name: string,
    options: ReaderOptions = {},
  ) {
    const { start, topics, after, lossy, group, keyed, wait, codecs, takeover, batchSize } = readerOptions(options);
    this.batchSize = batchSize;
    this.claims = new ClaimWatch(ring);
    this.codecs = codecTable(codecs);
    this.strategy = resolveWaitStrategy(wait);
    this.filter = null;
    if (topics !== undefined) {
      this.filter = new Uint8Array(ring.topics.length);
      for (const topic of topics) this.filter[ring.topicId(topic)] = 1;
    }
    this.deps = after.map((dep) => {
      if (dep === name) throw new InvalidOptionError(`reader "${name}" cannot come after itself: it would wait for its own position for ever; list the readers it must follow`);
      const slot = findSlot(ring, dep);
      if (slot < 0) throw new UnknownReaderError(dep);
      if (slotKind(ring, slot) === L.KIND_LOSSY) throw new InvalidOptionError(`"${dep}" is a lossy reader; a reader can only depend on readers that see every event`);
      if (slotKind(ring, slot) === L.KIND_MEMBER || slotKind(ring, slot) === L.KIND_KEYED_MEMBER) {
        const groupName = slotName(ring, slotGroup(ring, slot));
        throw new InvalidOptionError(`"${dep}" is a member of group "${groupName}": depend on the group, after: ["${groupName}"]`);
      }
      return slot;
    });
    const startCode = start === 'newest' ? L.START_NEWEST : L.START_OLDEST;
    if (group !== undefined && keyed) {
      this.kind = L.KIND_KEYED_MEMBER;
      const joined = joinKeyed(ring, group, name, { start: startCode, takeover, owner: this.owner, topics: topicsPrint(this.filter, ring.topics.length) });
      this.group = joined.group;
      this.slot = joined.slot;
      this.keyed = new KeyedView(ring, name, joined.group, joined.slot, joined.block);
    } else if (group !== undefined) {
      this.kind = L.KIND_MEMBER;
      [this.group, this.slot] = openMember(ring, group, name, { start: startCode, takeover, owner: this.owner });
    } else {
      this.kind = lossy ? L.KIND_LOSSY : L.KIND_GATING;
      this.group = -1;
      this.slot = openSlot(ring, name, { kind: this.kind, group: -1, start: startCode, takeover, owner: this.owner });
    }
    this.index = ring.core.cursorIndex(this.slot);
    this.position = ring.core.cursor(this.slot);
    this.expected = ring.core.slotCounter(this.slot, L.S_NEXT_SEQ);
    this.rawRecord = new RecordView(ring.u8, ring.i32, ring.topics);
    this.fenceWord = ring.slotWord(this.slot, L.S_OWNER);
    // Commits wake the cursor futex too; a keyed member also waits there for its peers to pass a hand-over.
    const onCursors = this.deps.length > 0 || this.keyed !== null;
    const futex = onCursors ? L.H_CURSOR_FUTEX : L.H_DATA_FUTEX;
    const waiters = onCursors ? L.H_CURSOR_WAITERS : L.H_DATA_WAITERS;
    this.site = { words: ring.i32, futex: ring.word(futex), waiters: ring.word(waiters), sliceMs: 100 };
  }

  /**
   * Delivers up to `max` available events to `handler` without waiting, then commits the
   * position once. If the handler throws, the events before it stay committed and the
   * failing one is delivered again by the next poll. Returns the number delivered.
   */
  poll(handler: Handler<T>, max = this.batchSize): number {
    this.enter('poll()');
    this.checkNotHeld();
    this.checkHandler(handler);
    max = this.checkMax(max);
    this.running = 'poll';
    try {
      return this.pollNow(handler, max);
    } finally {
      this.leave();
    }
  }

  private pollNow(handler: Handler<T>, max: number): number {
    const bytes = this.fill(max);
    if (bytes === 0) return 0;
    if (this.kind === L.KIND_LOSSY) return this.pollLossy(handler, max, bytes);
    const u8 = this.ring.u8;
    return this.walk(bytes, max, (record) => {
      handler(this.decodeAt(record.codec, u8, record.offset, record.length, record.head), record.topic, record.seq);
    });
  }

  /**
   * Like poll(), without decoding or allocating: `handler` gets one reused RawRecord whose
   * `bytes` is the ring's memory and whose payload lies at `offset`, `length` bytes long.
   * Valid until the handler returns. For gating readers and group members.
   */
  pollRaw(handler: (record: RawRecord) => void, max = this.batchSize): number {
    this.enter('pollRaw()');
    this.checkNotHeld();
    this.checkHandler(handler);
    if (this.kind === L.KIND_LOSSY) {
      throw new InvalidOptionError(`reader "${this.name}" is lossy: what it reads may be overwritten under it, so it gets copies through poll(), not views through pollRaw()`);
    }
    max = this.checkMax(max);
    this.running = 'pollRaw';
    try {
      const bytes = this.fill(max);
      return bytes === 0 ? 0 : this.walk(bytes, max, handler);
    } finally {
      this.leave();
    }
  }

  /**
   * Hands the events in the next `bytes` (at most `max`, skipping padding, revoked claims
   * and filtered topics) to `visit` as the reused record, then commits the position once.
   * If `visit` throws, the events before it stay committed and the failing one comes again
   * on the next poll; if it closes the reader, the walk stops after it. The one loop over
   * records: pollRaw's handler is called from it directly, without a wrapper, because this
   * is the hot path.
   */
  private walk(bytes: number, max: number, visit: (record: RecordView) => void, hold = false): number {
    const { i32, data, mask } = this.ring;
    const filter = this.filter;
    const keyed = this.keyed;
    const base = this.position;
    const record = this.rawRecord;
    const index = this.index;
    let off = 0;
    let delivered = 0;
    let lastEvent = -1; // header of the last event walked: its seq + 1 is committed with the position
    let at = 0;
    let length = 0;
    let stopped = false;
    try {
      while (off < bytes && delivered < max) {
        at = data + ((index + off) & mask);
        // Plain reads: the core's scan (fill()) loaded each of these headers atomically,
        // acquiring what their commit published, and this reader's cursor keeps producers
        // off them until consume() moves it.
        const meta = i32[at >> 2];
        length = i32[(at + L.R_LENGTH) >> 2];
        if ((meta & L.STATE_MASK) === L.STATE_COMMITTED && ((meta >> L.FLAGS_SHIFT) & L.FLAG_PADDING) === 0) {
          if ((filter === null || filter[meta >>> L.TOPIC_SHIFT] === 1) && (keyed === null || keyed.owns(i32, at, meta, base + off))) {
            const key = (meta & L.KEYED_META) === 0 ? 0 : L.KEY_BYTES;
            record.head = at;
            record.offset = at + L.RECORD_HEADER + key;
            record.length = length - key;
            record.meta = meta;
            visit(record);
            delivered++;
          }
          lastEvent = at; // only once its handler returned
        }
        off += recordSize(length);
        if (!this.open) break;
      }
    } catch (error) {
      if (error === STOP_BEFORE) {
        stopped = true;
      } else if (error instanceof DecodeError && skipped.has(error)) {
        off += recordSize(length); // consumed, not delivered (see undecodable())
        lastEvent = at;
      }
      if (!stopped) throw error;
    } finally {
      const nextSeq = lastEvent < 0 ? -1 : readSeq(i32, lastEvent) + 1;
      // Held bytes with no event in them (padding, revoked claims, an undecodable record) are
      // consumed at once: read() returns nothing, and nothing would ever commit them.
      if (!hold || (delivered === 0 && off > 0)) this.consume(off, delivered, nextSeq);
      else if (stopped || off === bytes || delivered === max) this.held = { bytes: off, events: delivered, nextSeq };
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
    const events: BusEvent<T>[] = [];
    this.readEach(max, (value, topic, seq) => events.push({ topic, seq, value }));
    return events;
  }

  /**
   * @internal read() into the caller's arrays (values, topics, seqs from index 0), without
   * an object per event: for the pipeline's stage workers. Returns the number of events.
   */
  readInto(max: number, values: unknown[], topics: string[], seqs: number[]): number {
    let n = 0;
    this.readEach(max, (value, topic, seq) => {
      values[n] = value;
      topics[n] = topic;
      seqs[n++] = seq;
    });
    return n;
  }

  /** The one loop of read() and readInto(): decodes up to `max` events into `take`, held until commit(). */
  private readEach(max: number, take: Handler<T>): void {
    this.enter('read()');
    if (this.kind === L.KIND_LOSSY) throw new InvalidOptionError(`reader "${this.name}" is lossy: it never redelivers, so it has nothing to commit; use poll()`);
    if (this.held !== null) throw new InvalidOptionError(`reader "${this.name}": commit() the events read before reading more`);
    max = this.checkMax(max);
    this.running = 'read';
    try {
      const bytes = this.fill(max);
      if (bytes === 0) return;
      const u8 = this.ring.u8;
      let taken = 0;
      this.walk(bytes, max, (record) => {
        let value: T;
        try {
          value = this.decodeAt(record.codec, u8, record.offset, record.length, record.head);
        } catch (error) {
          // The events before it are returned, to commit; the next read() reports it.
          if (taken > 0) throw STOP_BEFORE;
          throw error;
        }
        taken++;
        take(value, record.topic, record.seq);
      }, true);
    } finally {
      this.leave();
    }
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
      // Plain reads, possibly of a later lap's bytes: trusted only once lapped() says not.
      const length = i32[(at + L.R_LENGTH) >> 2];
      if (length < 0 || length > this.ring.maxSpan) {
        this.pending = 0; // only an overwritten header looks like this: resync
        break;
      }
      const seq = readSeq(i32, at);
      const topic = meta >>> L.TOPIC_SHIFT;
      const event = state === L.STATE_COMMITTED && ((meta >> L.FLAGS_SHIFT) & L.FLAG_PADDING) === 0;
      const wanted = event && (this.filter === null || this.filter[topic] === 1);
      const key = (meta & L.KEYED_META) === 0 ? 0 : L.KEY_BYTES;
      const payload = wanted ? u8.slice(at + L.RECORD_HEADER + key, at + L.RECORD_HEADER + length) : undefined;
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
        let value: T;
        const codec = (meta >> L.CODEC_SHIFT) & L.CODEC_MASK;
        try {
          value = this.decode(codec, payload);
        } catch (cause) {
          if (events.length > 0) break; // handed out first; the next poll reports this one
          this.consume(off + recordSize(length), 0, this.expected);
          throw this.undecodable(codec, payload, cause, seq, topic);
        }
        events.push([value, topics[topic], seq]);
        delivered++;
      }
      off += recordSize(length);
    }
    if (off > 0) this.consume(off, delivered, this.expected);
    if (off === 0 || off < limit) this.pending = 0;
    // Handlers run after the walk, on copies. A lossy reader never redelivers: if a handler
    // throws or closes the reader, the events after it in this batch count as missed.
    for (let i = 0; i < events.length; i++) {
      try {
        handler(events[i][0], events[i][1], events[i][2]);
      } catch (error) {
        this.dropCommitted(events.length - i - 1);
        throw error;
      }
      if (!this.open) {
        this.dropCommitted(events.length - i - 1);
        return i + 1;
      }
    }
    return delivered;
  }

  /** Counts `lost` events of a lossy batch, committed but never handed out, as missed. */
  private dropCommitted(lost: number): void {
    if (lost <= 0 || this.forget) return; // an unsubscribed slot may be another reader's already
    this.ring.core.addSlotCounter(this.slot, L.S_MISSED, lost);
    this.ring.core.addSlotCounter(this.slot, L.S_CONSUMED, -lost);
  }

  /**
   * Blocks until there is something to poll (true), or until `timeoutMs` passes or the bus
   * is closed and this reader has consumed everything (false). For worker threads.
   */
  wait(timeoutMs = Infinity): boolean {
    this.enter('wait()');
    return this.waitNow(timeoutMs);
  }

  private waitNow(timeoutMs: number): boolean {
    if (this.fill(this.batchSize) > 0) return true;
    const started = performance.now();
    const ready = this.strategy.waitSync(this.site, this.readyToPoll, started + timeoutMs);
    this.countWait(started);
    return ready && this.pending > 0;
  }

  /**
   * Like wait(), without blocking the event loop. A wait under way when the reader is
   * closed (or unsubscribed) resolves to false; one whose `signal` aborts rejects with its reason.
   */
  async waitAsync(timeoutMs = Infinity, options?: AbortOptions): Promise<boolean> {
    this.enter('waitAsync()');
    knownOptions('waitAsync() options', options, ['signal']);
    const signal = signalOption('waitAsync()', options);
    signal?.throwIfAborted(); // as every call given a signal aborted already: a loop that waits ends even while events keep coming
    return this.waitAsyncNow(timeoutMs, signal);
  }

  private async waitAsyncNow(timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (this.fill(this.batchSize) > 0) return true;
    const started = performance.now();
    const ready = await waitAbortable(this.strategy, this.site, this.readyToPoll, started + timeoutMs, signal);
    this.countWait(started);
    if (signal?.aborted && !(this.open && this.pending > 0)) throw signal.reason;
    return ready && this.open && this.pending > 0;
  }

  private readonly readyToPoll = (): boolean => !this.open || this.fill(this.batchSize) > 0 || this.ended;

  private countWait(started: number): void {
    // a closed reader's slot may have a successor already
    if (this.open) this.ring.core.addSlotCounter(this.slot, L.S_WAIT_NS, (performance.now() - started) * 1e6);
  }

  /**
   * Polls and waits until `count` events were delivered; throws TimeoutError after
   * `timeoutMs`. A convenience for tests and simple workers.
   */
  take(count: number, handler: Handler<T>, timeoutMs = Infinity): void {
    this.enter('take()');
    this.checkNotHeld();
    this.checkHandler(handler);
    const deadline = performance.now() + timeoutMs;
    let taken = 0;
    this.running = 'take';
    try {
      while (taken < count) {
        taken += this.pollNow(handler, Math.min(this.batchSize, count - taken));
        this.checkOpen(); // the handler closed it
        if (taken < count && !this.waitNow(deadline - performance.now())) {
          if (performance.now() >= deadline) throw new TimeoutError(`reader "${this.name}" taking ${count} events (got ${taken})`, timeoutMs);
          if (this.ended) throw new BusClosedError(`the bus closed after reader "${this.name}" took ${taken} of the ${count} events it was asked to take`);
        }
      }
    } finally {
      this.leave();
    }
  }

  /**
   * Yields events until the bus is closed and everything before close() was read.
   * An event's position is committed when the loop asks for the next one; leaving the
   * loop early (break, throw) leaves the current event uncommitted: it is delivered again.
   */
  [Symbol.asyncIterator](): AsyncGenerator<BusEvent<T>, void, undefined> {
    return this.events();
  }

  /**
   * The events, as `for await (const event of reader)` gives them; `signal` ends the loop:
   * it throws the signal's reason, at once while it waits, else when it asks for the next
   * event (the events handled before stay committed).
   */
  async *events(options?: AbortOptions): AsyncGenerator<BusEvent<T>, void, undefined> {
    this.enter('for await');
    knownOptions('events() options', options, ['signal']);
    const signal = signalOption('events()', options);
    this.checkNotHeld();
    this.running = 'for await';
    try {
      yield* this.kind === L.KIND_LOSSY ? this.iterateLossy(signal) : this.iterate(signal);
    } finally {
      this.running = '';
    }
  }

  /**
   * A `for await` that always finds events never waits, so it would hold its thread's event
   * loop for as long as the backlog lasts: no timer, message or I/O of that thread would
   * run. It gives the loop a turn (one setImmediate) once TURN_MS have passed, checking the
   * clock every TURN_EVENTS events.
   */
  private turnDueNow(): boolean {
    if (++this.sinceTurn < TURN_EVENTS) return false;
    this.sinceTurn = 0;
    return performance.now() >= this.turnDue;
  }

  private async takeTurn(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.turnDue = performance.now() + TURN_MS;
  }

  /** A lossy reader promises no redelivery: events are handed out a batch at a time. */
  private async *iterateLossy(signal: AbortSignal | undefined): AsyncGenerator<BusEvent<T>, void, undefined> {
    this.turnDue = performance.now() + TURN_MS;
    while (this.open) {
      signal?.throwIfAborted();
      const batch: BusEvent<T>[] = [];
      this.pollNow((value, topic, seq) => batch.push({ topic, seq, value }), this.batchSize);
      for (let i = 0; i < batch.length; i++) {
        yield batch[i];
        if (!this.open) {
          this.dropCommitted(batch.length - i - 1); // closed by the loop body
          return;
        }
        if (this.turnDueNow()) await this.takeTurn();
      }
      if (batch.length === 0) {
        if (!(await this.waitAsyncNow(Infinity, signal))) return;
        this.turnDue = performance.now() + TURN_MS;
      }
    }
  }

  private async *iterate(signal: AbortSignal | undefined): AsyncGenerator<BusEvent<T>, void, undefined> {
    const { i32, u8, data, mask, topics } = this.ring;
    this.turnDue = performance.now() + TURN_MS;
    for (;;) {
      if (!this.open) return;
      signal?.throwIfAborted();
      const bytes = this.pending > 0 ? this.pending : this.fill(this.batchSize);
      if (bytes === 0) {
        if (this.ended) return;
        await this.waitAsyncNow(Infinity, signal);
        this.turnDue = performance.now() + TURN_MS;
        continue;
      }
      const at = data + (this.index & mask);
      // Plain reads: fill() scanned this header atomically and the cursor still gates it (see walk()).
      const meta = i32[at >> 2];
      const length = i32[(at + L.R_LENGTH) >> 2];
      const size = recordSize(length);
      if ((meta & L.STATE_MASK) !== L.STATE_COMMITTED || ((meta >> L.FLAGS_SHIFT) & L.FLAG_PADDING) !== 0) {
        this.consume(size, 0, -1);
        continue;
      }
      const seq = readSeq(i32, at);
      const topic = meta >>> L.TOPIC_SHIFT;
      if ((this.filter !== null && this.filter[topic] !== 1) || (this.keyed !== null && !this.keyed.owns(i32, at, meta, this.position))) {
        this.consume(size, 0, seq + 1);
        continue;
      }
      const key = (meta & L.KEYED_META) === 0 ? 0 : L.KEY_BYTES;
      let value: T;
      try {
        value = this.decodeAt((meta >> L.CODEC_SHIFT) & L.CODEC_MASK, u8, at + L.RECORD_HEADER + key, length - key, at);
      } catch (error) {
        this.consume(size, 0, seq + 1); // see undecodable()
        throw error;
      }
      yield { topic: topics[topic], seq, value };
      if (!this.open) return; // closed by the loop body: the position is no longer ours to move
      this.consume(size, 1, seq + 1);
      if (this.turnDueNow()) await this.takeTurn();
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
    if (!this.delivering) this.letGo();
    this.ring.core.wakeAll(); // a for-await of this reader asleep in this thread ends now
  }

  /**
   * Removes the reader: its position is forgotten and it no longer holds producers back.
   * A group's last member takes the group with it.
   */
  unsubscribe(): void {
    this.checkOpen();
    if (this.kind === L.KIND_MEMBER && this.ring.core.memberPending(this.slot) > 0) {
      throw new InvalidOptionError(`member "${this.name}" still holds a batch that no other member will get; poll() it to the end first, or close() to leave it for a member opened with the same name`);
    }
    this.open = false;
    this.forget = true;
    if (!this.delivering) this.letGo();
    this.ring.core.wakeAll();
  }

  /**
   * True while a poll-like call is walking the ring: a handler that closes the reader lets
   * go of the slot only once that call has committed what was handled, since the position
   * stops being ours once a successor can open it. A for await commits nothing after close().
   */
  private get delivering(): boolean {
    return this.running !== '' && this.running !== 'for await';
  }

  private letGo(): void {
    if (this.keyed !== null) leaveKeyed(this.ring, this.group, this.slot, this.owner);
    else if (this.forget) releaseSlot(this.ring, this.slot, this.owner);
    else disownSlot(this.ring, this.slot, this.owner);
  }

  /** Checks a reading call may start: the reader is open and no call of it is delivering events. */
  private enter(call: string): void {
    this.checkOpen();
    if (this.running !== '') throw new ReentrantReadError(this.name, call, this.running);
  }

  private leave(): void {
    this.running = '';
    if (!this.open) this.letGo();
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
    } else if (this.keyed !== null) {
      if (this.keyed.prepare()) {
        this.position = core.cursor(this.slot);
        this.index = core.cursorIndex(this.slot);
      }
      const limit = this.keyed.limit();
      const deps = this.depLimit();
      this.pending = core.available(this.slot, max, limit < 0 ? deps : deps < 0 ? limit : Math.min(limit, deps));
      if (!this.keyed.current()) this.pending = 0; // the table changed meanwhile: read again by the new one
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
    // Nothing here: perhaps a claim whose thread died, which this thread can bury itself.
    if (this.pending === 0 && this.claims.check(this.kind === L.KIND_MEMBER ? core.cursor(this.group) : core.cursor(this.slot))) return this.fill(max);
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
  private decodeAt(id: number, memory: Uint8Array, offset: number, length: number, at: number): T {
    const codec = this.codecs[id];
    try {
      if (codec?.decodeRange === undefined) return this.decode(id, memory.subarray(offset, offset + length));
      return codec.decodeRange(memory, offset, offset + length) as T;
    } catch (cause) {
      // Plain reads of a header the caller's walk has already read (and published).
      throw this.undecodable(id, memory.slice(offset, offset + length), cause, readSeq(this.ring.i32, at), this.ring.i32[at >> 2] >>> L.TOPIC_SHIFT);
    }
  }

  /**
   * The error for a record no codec of this reader can decode. Such a record is consumed
   * (the walk steps over it): delivered again it would fail again, and hold every reader
   * behind it for ever. The error carries the record, bytes copied, for whoever can decode it.
   */
  private undecodable(id: number, bytes: Uint8Array, cause: unknown, seq: number, topic: number): DecodeError {
    if (cause instanceof DecodeError && skipped.has(cause)) return cause;
    const record = { seq, topic: this.ring.topics[topic], codec: id, bytes };
    const why = cause instanceof DecodeError ? cause.message : `codec ${id} could not decode it: ${String((cause as Error)?.message ?? cause)}`;
    const error = new DecodeError(`reader "${this.name}": the record of seq ${record.seq} on "${record.topic}" cannot be decoded (${why}); it was consumed, and the error's record holds its bytes`, record, { cause });
    skipped.add(error);
    return error;
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
