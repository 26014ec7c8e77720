import { signalOption, waitAbortable } from './abort.js';
import { resolveCodec } from './codec.js';
import { iteratingBefore } from './cursor/cursor.js';
import { InvalidOptionError, RecordTooLargeError, TimeoutError } from './errors.js';
import { hooks } from './internal.js';
import * as L from './layout.js';
import { type Claim, type Keys, Producer } from './producer.js';
import { Reader, type ReaderOptions } from './reader.js';
import { keyHash } from './key.js';
import { recordSize } from './record.js';
import { readerStats } from './stats.js';
import { slotKind, slotName } from './registry.js';
import { createRing, Ring } from './ring.js';
import type {
  AnyTopics,
  ReaderOf,
  TopicMap,
  TopicName,
  TopicReaderOptions,
  AsyncBatchPublishOptions,
  AsyncOptions,
  AsyncPublishOptions,
  AttachOptions,
  BatchPublishOptions,
  BusHandle,
  BusOptions,
  BusStats,
  ClaimOptions,
  EventKey,
  KeyedPublishOptions,
  OutgoingEvent,
  ProducerStats,
  PublishOptions,
  ReaderStats,
  TopicStats,
} from './types.js';
import * as V from './validate.js';
import { resolveWaitStrategy, type WaitStrategy } from './wait-strategy.js';

// The pipeline and bridges import these from here.
export type {
  AsyncBatchPublishOptions,
  AsyncOptions,
  AsyncPublishOptions,
  AttachOptions,
  BatchPublishOptions,
  BusOptions,
  BusStats,
  ClaimOptions,
  EventKey,
  KeyedPublishOptions,
  OutgoingEvent,
  ProducerStats,
  PublishOptions,
  TopicStats,
} from './types.js';

const ATTACH_OPTIONS: readonly (keyof AttachOptions)[] = ['codec', 'wait', 'timeoutMs'];
const BUS_OPTIONS: readonly (keyof BusOptions)[] = [...ATTACH_OPTIONS, 'capacity', 'topics', 'maxReaders'];
const PUBLISH_OPTIONS: readonly (keyof PublishOptions)[] = ['timeoutMs'];
const KEYED_OPTIONS: readonly (keyof KeyedPublishOptions)[] = ['timeoutMs', 'key'];
const BATCH_OPTIONS: readonly (keyof BatchPublishOptions)[] = ['timeoutMs', 'key', 'keyOf'];
const CLAIM_OPTIONS: readonly (keyof ClaimOptions)[] = ['timeoutMs', 'count'];
const ASYNC_OPTIONS: readonly (keyof AsyncOptions)[] = ['timeoutMs', 'signal'];
const KEYED_ASYNC_OPTIONS: readonly (keyof AsyncPublishOptions)[] = ['timeoutMs', 'key', 'signal'];
const BATCH_ASYNC_OPTIONS: readonly (keyof AsyncBatchPublishOptions)[] = ['timeoutMs', 'key', 'keyOf', 'signal'];

/**
 * Creates a bus in new shared memory. Hand `bus.handle` to workers, which call attach().
 * `createBus<{ orders: Order }>({ topics: ['orders'] })` types its topics (see TopicMap).
 */
export function createBus<M extends TopicMap = AnyTopics>(options: BusOptions<M> = {}): Bus<M> {
  V.knownOptions('createBus() options', options, BUS_OPTIONS);
  const handle = createRing({
    capacity: V.capacity(options.capacity ?? 1 << 20),
    maxReaders: V.integer('maxReaders', options.maxReaders ?? 64, 1, V.MAX_READERS),
    topics: V.topicList(options.topics ?? ['default']),
  });
  return new Bus<M>(handle, options);
}

/** Attaches to a bus from its handle (in a worker, or anywhere the handle was sent). */
export function attach<M extends TopicMap = AnyTopics>(handle: BusHandle, options: AttachOptions = {}): Bus<M> {
  V.busHandle(handle);
  V.knownOptions('attach() options', options, ATTACH_OPTIONS);
  return new Bus<M>(handle, options);
}

/**
 * One thread's access to a bus: publish, open readers, close, drain, stats.
 * Every thread that attaches sees the same ring.
 */
export class Bus<M extends TopicMap = AnyTopics> {
  readonly #ring: Ring;
  readonly #producer: Producer;
  readonly #strategy: WaitStrategy;
  readonly #timeoutMs: number;

  static {
    hooks.ring = (bus) => bus.#ring;
    hooks.producer = (bus) => bus.#producer;
    hooks.timeoutMs = (bus) => bus.#timeoutMs;
  }

  /** Use createBus() or attach(). */
  constructor(
    readonly handle: BusHandle,
    options: AttachOptions,
  ) {
    this.#timeoutMs = V.timeoutMs('timeoutMs', options.timeoutMs ?? Infinity);
    this.#ring = new Ring(handle);
    this.#strategy = resolveWaitStrategy(options.wait);
    this.#producer = new Producer(this.#ring, resolveCodec(options.codec), this.#strategy);
  }

  get topics(): readonly string[] {
    return this.#ring.topics;
  }

  /** Largest payload one record can carry, in encoded bytes. */
  get maxPayload(): number {
    return this.#ring.maxPayload;
  }

  get closed(): boolean {
    return this.#ring.closed;
  }

  /** Publishes one event, waiting while the ring is full (backpressure from gating readers). */
  publish<K extends TopicName<M>>(topic: K, value: M[K], options?: KeyedPublishOptions): void {
    const timeoutMs = this.#timeout(options, 'publish() options', KEYED_OPTIONS);
    if (options?.key !== undefined) {
      this.#producer.publishBatchSync(this.#ring.topicId(topic), [value], timeoutMs, 'publish', keyHash(options.key, 'publish() key'));
    } else {
      this.#producer.publishSync(this.#ring.topicId(topic), value, timeoutMs);
    }
  }

  /** Publishes one event if there is space now; false when the ring is full. */
  tryPublish<K extends TopicName<M>>(topic: K, value: M[K], options?: { key?: EventKey }): boolean {
    if (options === undefined) return this.#producer.tryPublish(this.#ring.topicId(topic), value);
    V.knownOptions('tryPublish() options', options, ['key']);
    if (options.key === undefined) return this.#producer.tryPublish(this.#ring.topicId(topic), value);
    return this.#producer.tryPublishBatch(this.#ring.topicId(topic), [value], keyHash(options.key, 'tryPublish() key')) === 1;
  }

  /** Publishes one event, waiting for space without blocking the event loop. */
  publishAsync<K extends TopicName<M>>(topic: K, value: M[K], options?: AsyncPublishOptions): Promise<void> {
    try {
      const deadline = this.#deadline(options, 'publishAsync() options', KEYED_ASYNC_OPTIONS);
      const signal = signalOption('publishAsync()', options);
      if (options?.key !== undefined) {
        return this.#producer.publishBatchAsync(
          this.#ring.topicId(topic),
          [value],
          deadline,
          'publishAsync',
          keyHash(options.key, 'publishAsync() key'),
          signal,
        );
      }
      return this.#producer.publishAsync(this.#ring.topicId(topic), value, deadline, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Publishes an array of values in order with one claim and one commit per ring-sized
   * chunk. A TimeoutError carries in `published` how many of them went out.
   */
  publishBatch<K extends TopicName<M>>(topic: K, values: readonly M[K][], options?: BatchPublishOptions<M[K]>): void {
    const id = this.#ring.topicId(topic);
    const timeoutMs = this.#timeout(options, 'publishBatch() options', BATCH_OPTIONS);
    V.batch('publishBatch()', values);
    this.#producer.publishBatchSync(id, values, timeoutMs, 'publishBatch', batchKeys('publishBatch()', values, options));
  }

  publishBatchAsync<K extends TopicName<M>>(topic: K, values: readonly M[K][], options?: AsyncBatchPublishOptions<M[K]>): Promise<void> {
    try {
      const id = this.#ring.topicId(topic);
      const deadline = this.#deadline(options, 'publishBatchAsync() options', BATCH_ASYNC_OPTIONS);
      V.batch('publishBatchAsync()', values);
      const keys = batchKeys('publishBatchAsync()', values, options);
      return this.#producer.publishBatchAsync(id, values, deadline, 'publishBatchAsync', keys, signalOption('publishBatchAsync()', options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Publishes events of any topics in the order given, batched like publishBatch: one
   * claim and one commit per ring-sized chunk.
   */
  publishEvents(events: readonly OutgoingEvent<M>[], options?: PublishOptions): void {
    const [topics, values, keys] = this.#split('publishEvents()', events);
    this.#producer.publishBatchSync(topics, values, this.#timeout(options, 'publishEvents() options'), 'publishEvents', keys);
  }

  /**
   * Publishes the longest prefix of `events` that fits now, a whole chunk at a time, and
   * returns how many events that was. Never waits: for a thread that must not block on
   * its own backpressure.
   */
  tryPublishEvents(events: readonly OutgoingEvent<M>[]): number {
    const [topics, values, keys] = this.#split('tryPublishEvents()', events);
    return this.#producer.tryPublishBatch(topics, values, keys);
  }

  publishEventsAsync(events: readonly OutgoingEvent<M>[], options?: AsyncOptions): Promise<void> {
    try {
      const [topics, values, keys] = this.#split('publishEventsAsync()', events);
      const deadline = this.#deadline(options, 'publishEventsAsync() options', ASYNC_OPTIONS);
      return this.#producer.publishBatchAsync(topics, values, deadline, 'publishEventsAsync', keys, signalOption('publishEventsAsync()', options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Reserves space for `count` (default 1) raw records of `byteLength` bytes and returns a
   * view of the ring to write them into: zero copies, one commit for all. Record i's
   * payload starts at `i * claim.stride`. Then `commit()` (or `abort()`): readers wait behind an open claim.
   */
  claim(topic: TopicName<M>, byteLength: number, options?: ClaimOptions): Claim {
    const id = this.#ring.topicId(topic);
    const timeoutMs = this.#timeout(options, 'claim() options', CLAIM_OPTIONS);
    const count = V.integer('claim() count', options?.count ?? 1, 1);
    const { maxPayload, maxSpan } = this.#ring;
    if (typeof byteLength !== 'number' || !Number.isInteger(byteLength) || byteLength < 0) {
      throw new InvalidOptionError(`claim() byteLength must be an integer number of bytes ≥ 0, got ${V.describe(byteLength)}`);
    }
    if (byteLength > maxPayload) throw new RecordTooLargeError(byteLength, maxPayload);
    const span = count * recordSize(byteLength);
    if (span > maxSpan) {
      throw new InvalidOptionError(
        `a claim of ${count} records of ${byteLength} bytes needs ${span} bytes; one claim holds at most ${maxSpan} (a quarter of the capacity): claim fewer at a time`,
      );
    }
    return this.#producer.claimRaw(id, byteLength, count, timeoutMs);
  }

  /**
   * Opens the reader `name`, creating it if it does not exist. On an untyped bus `T` is the
   * values' type; on a typed one each delivery's value has its topic's type.
   */
  reader<T = unknown, K extends TopicName<M> = TopicName<M>>(name: string, options: TopicReaderOptions<M, K> = {}): ReaderOf<M, T, K> {
    V.slotName('a reader name', name);
    V.knownOptions('reader options', options, V.READER_OPTIONS);
    return new Reader<T>(this.#ring, name, options as ReaderOptions) as unknown as ReaderOf<M, T, K>;
  }

  /** Stops publishing, in every thread. Readers go on until they have read everything. */
  close(): void {
    this.#ring.core.closeRing();
  }

  /** Resolves once every gating reader has consumed everything published before the call. */
  async drain(options?: AsyncOptions): Promise<void> {
    const core = this.#ring.core;
    const target = core.tailPosition();
    const deadline = this.#deadline(options, 'drain() options', ASYNC_OPTIONS);
    const signal = signalOption('drain()', options);
    signal?.throwIfAborted(); // as every call given a signal aborted already, with nothing to wait for too
    const site = { words: this.#ring.i32, futex: this.#ring.word(L.H_CURSOR_FUTEX), waiters: this.#ring.word(L.H_CURSOR_WAITERS), sliceMs: 50 };
    const started = performance.now();
    const drained = () => core.minGate() >= target;
    if (!(await waitAbortable(this.#strategy, site, drained, deadline, signal))) {
      throw new TimeoutError('drain()', Math.round(deadline - started), undefined, this.#drainHoldUp(target));
    }
    if (signal?.aborted && !drained()) throw signal.reason;
    if (!drained()) {
      throw new InvalidOptionError(
        `the wait strategy "${String(this.#strategy.name)}" returned true before the readers had caught up: a WaitStrategy must return true only when ready() did`,
      );
    }
  }

  /** What held a drain() to `target` up, for its TimeoutError: the reader furthest behind, and a for await loop that may be waiting for it. */
  #drainHoldUp(target: number): string | undefined {
    const behind = this.stats()
      .readers.filter((r) => r.kind !== 'lossy reader' && r.kind !== 'group member' && r.kind !== 'keyed member' && r.lagEvents > 0)
      .sort((a, b) => b.lagEvents - a.lagEvents)[0];
    const parts: string[] = [];
    if (behind !== undefined) parts.push(`${behind.kind} "${behind.name}" is furthest behind (${behind.lagEvents} event${behind.lagEvents === 1 ? '' : 's'})`);
    // Awaited in the body of a for await loop, drain() waits for the loop's own event; awaited
    // elsewhere while that body awaits, it is fine: the two look the same from here.
    const loop = iteratingBefore(this.#ring.handle.memory, target);
    if (loop !== undefined) {
      parts.push(
        `reader "${loop.name}" of this thread holds an event from before the call in a for await loop: if this drain() was awaited in that loop's body, it waited for itself (drain after the loop)`,
      );
    }
    return parts.length === 0 ? undefined : parts.join('; ');
  }

  /**
   * Bytes claimed that the slowest gating reader has not yet consumed: 0 once every
   * gating reader (and group) has caught up with every producer.
   */
  backlog(): number {
    const core = this.#ring.core;
    return Math.max(0, core.tailPosition() - core.minGate());
  }

  stats(): BusStats {
    const core = this.#ring.core;
    const readers: ReaderStats[] = [];
    for (let slot = 0; slot < this.#ring.maxReaders; slot++) {
      const kind = slotKind(this.#ring, slot);
      if (kind !== L.KIND_FREE && kind !== L.KIND_RESERVED) readers.push(readerStats(this.#ring, slot, slotName(this.#ring, slot)));
    }
    return {
      capacity: this.#ring.capacity,
      tail: core.tailPosition(),
      claimed: core.counter(L.H_NEXT_SEQ),
      published: core.committedEvents(),
      revoked: core.counter(L.H_REVOKED),
      producerWaitMs: core.counter(L.H_PRODUCER_WAIT_NS) / 1e6,
      closed: this.#ring.closed,
      readers,
    };
  }

  /**
   * Events and bytes published per topic. Each thread counts its own in memory no other
   * thread writes; this sums them (read while they publish: each figure may trail by the
   * publishes under way).
   */
  topicStats(): TopicStats[] {
    const { f64, topics } = this.#ring;
    const totals = topics.map((topic) => ({ topic, events: 0, bytes: 0 }));
    const head = L.COUNTER_HEAD_BYTES >> 3;
    for (let slot = 0; slot < L.MAX_PRODUCERS; slot++) {
      const row = this.#ring.counterRow(slot) + head;
      for (let t = 0; t < totals.length; t++) {
        // Plain reads of words another thread may be adding to: a figure, never a decision.
        // Aligned 8-byte loads do not tear on the CPUs Node runs on (the language does not
        // promise it for floats); the next call reads the settled value.
        totals[t].events += f64[row + 2 * t];
        totals[t].bytes += f64[row + 2 * t + 1];
      }
    }
    return totals;
  }

  /** The threads publishing on the bus now, with the time each spent waiting for space. */
  producerStats(): ProducerStats[] {
    const { i32, f64 } = this.#ring;
    const rows: ProducerStats[] = [];
    for (let slot = 0; slot < L.MAX_PRODUCERS; slot++) {
      const owner = Atomics.load(i32, this.#ring.producerWord(slot, L.P_OWNER));
      if (owner > 0) rows.push({ thread: owner - 1, blockedMs: f64[this.#ring.counterRow(slot) + L.C_BLOCKED_MS] });
    }
    return rows;
  }

  #split(what: string, events: readonly OutgoingEvent[]): [number[], unknown[], Int32Array | undefined] {
    V.eventList(what, events);
    const topics = new Array<number>(events.length);
    const values = new Array<unknown>(events.length);
    let keys: Int32Array | undefined;
    for (let i = 0; i < events.length; i++) {
      const event = V.event(what, events[i], i) as OutgoingEvent;
      topics[i] = this.#ring.topicId(event.topic as string);
      values[i] = event.value;
      if (i === 0 && event.key !== undefined) keys = new Int32Array(events.length);
      if ((event.key !== undefined) !== (keys !== undefined)) {
        throw new InvalidOptionError(
          `${what}: event ${i} ${event.key === undefined ? 'has no key and event 0 has one' : 'has a key and event 0 has none'}; give every event of one call a key, or none`,
        );
      }
      if (keys !== undefined) keys[i] = keyHash(event.key, `${what} event ${i} key`);
    }
    return [topics, values, keys];
  }

  /** How long a call may wait. Options are checked only when given: publish() without them is the hot path. */
  #timeout(options: PublishOptions | undefined, what: string, known: readonly string[] = PUBLISH_OPTIONS): number {
    if (options === undefined) return this.#timeoutMs;
    V.knownOptions(what, options, known);
    return options.timeoutMs === undefined ? this.#timeoutMs : V.timeoutMs('timeoutMs', options.timeoutMs);
  }

  /** When an async call's wait must end: it counts from the call, queued behind this thread's earlier async publishes. */
  #deadline(options: PublishOptions | undefined, what: string, known: readonly string[]): number {
    return performance.now() + this.#timeout(options, what, known);
  }
}

/** A batch's keys as the producer takes them: one hash, one per value, or none. */
function batchKeys<T>(what: string, values: readonly T[], options: BatchPublishOptions<T> | undefined): Keys | undefined {
  if (options === undefined) return undefined;
  const { key, keyOf } = options;
  if (key !== undefined && keyOf !== undefined)
    throw new InvalidOptionError(`${what}: pass key (one key for the whole batch) or keyOf (a key per value), not both`);
  if (key !== undefined) return keyHash(key, `${what} key`);
  if (keyOf === undefined) return undefined;
  if (typeof keyOf !== 'function') throw new InvalidOptionError(`${what}: keyOf must be a function (value, index) => key, got ${V.describe(keyOf)}`);
  const keys = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) keys[i] = keyHash(keyOf(values[i], i), `${what} keyOf(value ${i})`);
  return keys;
}
