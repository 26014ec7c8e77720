import { type Codec, type CodecName, resolveCodec } from './codec.js';
import { InvalidOptionError, RecordTooLargeError, TimeoutError } from './errors.js';
import * as L from './layout.js';
import { type Claim, type Keys, Producer } from './producer.js';
import { Reader, type ReaderOptions } from './reader.js';
import { keyHash } from './key.js';
import { recordSize } from './record.js';
import { readerStats, type ReaderStats } from './stats.js';
import { slotKind, slotName } from './registry.js';
import { type BusHandle, createRing, Ring } from './ring.js';
import * as V from './validate.js';
import { resolveWaitStrategy, type WaitStrategy, type WaitStrategyName } from './wait-strategy.js';

export interface AttachOptions {
  /** Codec for what this thread publishes: 'structured' (default), 'msgpack', 'json', 'raw' or your own. */
  codec?: CodecName | Codec<any>;
  /** How publishing waits for space and drain() for readers. Default 'phased' (spin, nap, then block). */
  wait?: WaitStrategyName | WaitStrategy;
  /** Longest a blocking publish waits for space before TimeoutError. Default: no limit. */
  timeoutMs?: number;
}

export interface BusOptions extends AttachOptions {
  /** Bytes in the data region: a power of two, at least 4096. Default 1 MiB. Records up to a quarter of it fit. */
  capacity?: number;
  /** Topic names; publish and filter by name. Default ['default']. */
  topics?: readonly string[];
  /** Reader slots (readers, groups and group members together). Default 64. */
  maxReaders?: number;
}

export interface PublishOptions {
  /** Longest wait for space, in ms; 0: do not wait (TimeoutError unless there is space now). Default: the bus's timeoutMs. */
  timeoutMs?: number;
}

/** A publish key: events of one key go to one member of a keyed group, in publish order. */
export type EventKey = string | number;

export interface KeyedPublishOptions extends PublishOptions {
  /** The event's key: a string or a safe integer (42 and '42' are the same key). */
  key?: EventKey;
}

export interface BatchPublishOptions extends KeyedPublishOptions {
  /** Each value's key, by value and index (instead of one `key` for the whole batch). */
  keyOf?: (value: unknown, index: number) => EventKey;
}

export interface ClaimOptions extends PublishOptions {
  /** Records of `byteLength` bytes to claim at once. Default 1. */
  count?: number;
}

/** An event to publish with publishEvents(). */
export interface OutgoingEvent {
  topic: string;
  value: unknown;
  /** Keys go to every event of the call or to none. */
  key?: EventKey;
}

export interface BusStats {
  capacity: number;
  /** Bytes claimed since the bus was created. */
  tail: number;
  /** Events claimed (sequence numbers handed out). */
  claimed: number;
  /** Events committed and readable. */
  published: number;
  /** Claims revoked: their thread died before committing them, or gave them up (abort). */
  revoked: number;
  /** Time producers in all threads spent waiting for space. */
  producerWaitMs: number;
  closed: boolean;
  readers: ReaderStats[];
}

const ATTACH_OPTIONS: readonly (keyof AttachOptions)[] = ['codec', 'wait', 'timeoutMs'];
const BUS_OPTIONS: readonly (keyof BusOptions)[] = [...ATTACH_OPTIONS, 'capacity', 'topics', 'maxReaders'];
const PUBLISH_OPTIONS: readonly (keyof PublishOptions)[] = ['timeoutMs'];
const KEYED_OPTIONS: readonly (keyof KeyedPublishOptions)[] = ['timeoutMs', 'key'];
const BATCH_OPTIONS: readonly (keyof BatchPublishOptions)[] = ['timeoutMs', 'key', 'keyOf'];
const CLAIM_OPTIONS: readonly (keyof ClaimOptions)[] = ['timeoutMs', 'count'];

/** Creates a bus in new shared memory. Hand `bus.handle` to workers, which call attach(). */
export function createBus(options: BusOptions = {}): Bus {
  V.knownOptions('createBus() options', options, BUS_OPTIONS);
  const handle = createRing({
    capacity: V.capacity(options.capacity ?? 1 << 20),
    maxReaders: V.integer('maxReaders', options.maxReaders ?? 64, 1, V.MAX_READERS),
    topics: V.topicList(options.topics ?? ['default']),
  });
  return new Bus(handle, options);
}

/** Attaches to a bus from its handle (in a worker, or anywhere the handle was sent). */
export function attach(handle: BusHandle, options: AttachOptions = {}): Bus {
  V.busHandle(handle);
  V.knownOptions('attach() options', options, ATTACH_OPTIONS);
  return new Bus(handle, options);
}

/**
 * One thread's access to a bus: publish, open readers, close, drain, stats.
 * Every thread that attaches sees the same ring.
 */
export class Bus {
  private readonly ring: Ring;
  private readonly producer: Producer;
  private readonly strategy: WaitStrategy;
  private readonly timeoutMs: number;

  /** @internal use createBus() or attach() */
  constructor(
    readonly handle: BusHandle,
    options: AttachOptions,
  ) {
    this.timeoutMs = V.timeoutMs('timeoutMs', options.timeoutMs ?? Infinity);
    this.ring = new Ring(handle);
    this.strategy = resolveWaitStrategy(options.wait);
    this.producer = new Producer(this.ring, resolveCodec(options.codec), this.strategy);
  }

  get topics(): readonly string[] {
    return this.ring.topics;
  }

  /** Largest payload one record can carry, in encoded bytes. */
  get maxPayload(): number {
    return this.ring.maxPayload;
  }

  get closed(): boolean {
    return this.ring.closed;
  }

  /** Publishes one event, waiting while the ring is full (backpressure from gating readers). */
  publish(topic: string, value: unknown, options?: KeyedPublishOptions): void {
    const timeoutMs = this.timeout(options, 'publish() options', KEYED_OPTIONS);
    if (options?.key !== undefined) {
      this.producer.publishBatchSync(this.ring.topicId(topic), [value], timeoutMs, 'publish', keyHash(options.key, 'publish() key'));
    } else {
      this.producer.publishSync(this.ring.topicId(topic), value, timeoutMs);
    }
  }

  /** Publishes one event if there is space now; false when the ring is full. */
  tryPublish(topic: string, value: unknown, options?: { key?: EventKey }): boolean {
    if (options === undefined) return this.producer.tryPublish(this.ring.topicId(topic), value);
    V.knownOptions('tryPublish() options', options, ['key']);
    if (options.key === undefined) return this.producer.tryPublish(this.ring.topicId(topic), value);
    return this.producer.tryPublishBatch(this.ring.topicId(topic), [value], keyHash(options.key, 'tryPublish() key')) === 1;
  }

  /** Publishes one event, waiting for space without blocking the event loop. */
  publishAsync(topic: string, value: unknown, options?: KeyedPublishOptions): Promise<void> {
    try {
      const deadline = this.deadline(options, 'publishAsync() options', KEYED_OPTIONS);
      if (options?.key !== undefined) {
        return this.producer.publishBatchAsync(this.ring.topicId(topic), [value], deadline, 'publishAsync', keyHash(options.key, 'publishAsync() key'));
      }
      return this.producer.publishAsync(this.ring.topicId(topic), value, deadline);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Publishes an array of values in order with one claim and one commit per ring-sized
   * chunk. A TimeoutError carries in `published` how many of them went out.
   */
  publishBatch(topic: string, values: readonly unknown[], options?: BatchPublishOptions): void {
    const id = this.ring.topicId(topic);
    const timeoutMs = this.timeout(options, 'publishBatch() options', BATCH_OPTIONS);
    V.batch('publishBatch()', values);
    this.producer.publishBatchSync(id, values, timeoutMs, 'publishBatch', batchKeys('publishBatch()', values, options));
  }

  publishBatchAsync(topic: string, values: readonly unknown[], options?: BatchPublishOptions): Promise<void> {
    try {
      const id = this.ring.topicId(topic);
      const deadline = this.deadline(options, 'publishBatchAsync() options', BATCH_OPTIONS);
      V.batch('publishBatchAsync()', values);
      return this.producer.publishBatchAsync(id, values, deadline, 'publishBatchAsync', batchKeys('publishBatchAsync()', values, options));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Publishes events of any topics in the order given, batched like publishBatch: one
   * claim and one commit per ring-sized chunk.
   */
  publishEvents(events: readonly OutgoingEvent[], options?: PublishOptions): void {
    const [topics, values, keys] = this.split('publishEvents()', events);
    this.producer.publishBatchSync(topics, values, this.timeout(options, 'publishEvents() options'), 'publishEvents', keys);
  }

  /**
   * Publishes the longest prefix of `events` that fits now, a whole chunk at a time, and
   * returns how many events that was. Never waits: for a thread that must not block on
   * its own backpressure.
   */
  tryPublishEvents(events: readonly OutgoingEvent[]): number {
    const [topics, values, keys] = this.split('tryPublishEvents()', events);
    return this.producer.tryPublishBatch(topics, values, keys);
  }

  publishEventsAsync(events: readonly OutgoingEvent[], options?: PublishOptions): Promise<void> {
    try {
      const [topics, values, keys] = this.split('publishEventsAsync()', events);
      return this.producer.publishBatchAsync(topics, values, this.deadline(options, 'publishEventsAsync() options'), 'publishEventsAsync', keys);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Reserves space for `count` (default 1) raw records of `byteLength` bytes and returns a
   * view of the ring to write them into: zero copies, one commit for all. Record i's
   * payload starts at `i * claim.stride`. Then `commit()` (or `abort()`): readers wait behind an open claim.
   */
  claim(topic: string, byteLength: number, options?: ClaimOptions): Claim {
    const id = this.ring.topicId(topic);
    const timeoutMs = this.timeout(options, 'claim() options', CLAIM_OPTIONS);
    const count = V.integer('claim() count', options?.count ?? 1, 1);
    const { maxPayload, maxSpan } = this.ring;
    if (typeof byteLength !== 'number' || !Number.isInteger(byteLength) || byteLength < 0) {
      throw new InvalidOptionError(`claim() byteLength must be an integer number of bytes ≥ 0, got ${V.describe(byteLength)}`);
    }
    if (byteLength > maxPayload) throw new RecordTooLargeError(byteLength, maxPayload);
    const span = count * recordSize(byteLength);
    if (span > maxSpan) {
      throw new InvalidOptionError(`a claim of ${count} records of ${byteLength} bytes needs ${span} bytes; one claim holds at most ${maxSpan} (a quarter of the capacity): claim fewer at a time`);
    }
    return this.producer.claimRaw(id, byteLength, count, timeoutMs);
  }

  /** Opens the reader `name`, creating it if it does not exist. */
  reader<T = unknown>(name: string, options: ReaderOptions = {}): Reader<T> {
    V.slotName('a reader name', name);
    V.knownOptions('reader options', options, V.READER_OPTIONS);
    return new Reader<T>(this.ring, name, options);
  }

  /** Stops publishing, in every thread. Readers go on until they have read everything. */
  close(): void {
    this.ring.core.closeRing();
  }

  /** Resolves once every gating reader has consumed everything published before the call. */
  async drain(options?: PublishOptions): Promise<void> {
    const core = this.ring.core;
    const target = core.tailPosition();
    const deadline = this.deadline(options, 'drain() options');
    const site = { words: this.ring.i32, futex: this.ring.word(L.H_CURSOR_FUTEX), waiters: this.ring.word(L.H_CURSOR_WAITERS), sliceMs: 50 };
    const started = performance.now();
    const drained = () => core.minGate() >= target;
    if (!(await this.strategy.waitAsync(site, drained, deadline))) {
      throw new TimeoutError('drain()', Math.round(deadline - started));
    }
    if (!drained()) {
      throw new InvalidOptionError(`the wait strategy "${String(this.strategy.name)}" returned true before the readers had caught up: a WaitStrategy must return true only when ready() did`);
    }
  }

  /**
   * Bytes claimed that the slowest gating reader has not yet consumed: 0 once every
   * gating reader (and group) has caught up with every producer.
   */
  backlog(): number {
    const core = this.ring.core;
    return Math.max(0, core.tailPosition() - core.minGate());
  }

  stats(): BusStats {
    const core = this.ring.core;
    const readers: ReaderStats[] = [];
    for (let slot = 0; slot < this.ring.maxReaders; slot++) {
      const kind = slotKind(this.ring, slot);
      if (kind !== L.KIND_FREE && kind !== L.KIND_RESERVED) readers.push(readerStats(this.ring, slot, slotName(this.ring, slot)));
    }
    return {
      capacity: this.ring.capacity,
      tail: core.tailPosition(),
      claimed: core.counter(L.H_NEXT_SEQ),
      published: core.committedEvents(),
      revoked: core.counter(L.H_REVOKED),
      producerWaitMs: core.counter(L.H_PRODUCER_WAIT_NS) / 1e6,
      closed: this.ring.closed,
      readers,
    };
  }

  /** @internal The id of a topic in this bus, for publishByIds(). */
  topicIdOf(topic: string): number {
    return this.ring.topicId(topic);
  }

  /**
   * @internal publishEvents() (wait true) or tryPublishEvents() (wait false) with topics
   * given by id, for the pipeline's stage workers: no per-event objects or lookups.
   */
  publishByIds(topicIds: readonly number[], values: readonly unknown[], wait: boolean): number {
    if (!wait) return this.producer.tryPublishBatch(topicIds, values);
    this.producer.publishBatchSync(topicIds, values, this.timeoutMs, 'publishEvents');
    return values.length;
  }

  /** @internal See Producer.watchClaims: for the pipeline's stage workers. */
  watchClaims(record: Float64Array, index: number, tag: number): void {
    this.producer.watchClaims(record, index, tag);
  }

  /** @internal Revokes the claim at `position` if it is still open with sequence number `seq` (its producer is known dead). */
  revokeClaim(position: number, seq: number): boolean {
    return this.ring.core.revoke(position, seq) === 1;
  }

  private split(what: string, events: readonly OutgoingEvent[]): [number[], unknown[], Int32Array | undefined] {
    V.eventList(what, events);
    const topics = new Array<number>(events.length);
    const values = new Array<unknown>(events.length);
    let keys: Int32Array | undefined;
    for (let i = 0; i < events.length; i++) {
      const event = V.event(what, events[i], i) as OutgoingEvent;
      topics[i] = this.ring.topicId(event.topic as string);
      values[i] = event.value;
      if (i === 0 && event.key !== undefined) keys = new Int32Array(events.length);
      if ((event.key !== undefined) !== (keys !== undefined)) {
        throw new InvalidOptionError(`${what}: event ${i} ${event.key === undefined ? 'has no key and event 0 has one' : 'has a key and event 0 has none'}; give every event of one call a key, or none`);
      }
      if (keys !== undefined) keys[i] = keyHash(event.key, `${what} event ${i} key`);
    }
    return [topics, values, keys];
  }

  /** How long a call may wait. Options are checked only when given: publish() without them is the hot path. */
  private timeout(options: PublishOptions | undefined, what: string, known: readonly string[] = PUBLISH_OPTIONS): number {
    if (options === undefined) return this.timeoutMs;
    V.knownOptions(what, options, known);
    return options.timeoutMs === undefined ? this.timeoutMs : V.timeoutMs('timeoutMs', options.timeoutMs);
  }

  /** When an async call's wait must end: it counts from the call, queued behind this thread's earlier async publishes. */
  private deadline(options: PublishOptions | undefined, what: string, known: readonly string[] = PUBLISH_OPTIONS): number {
    return performance.now() + this.timeout(options, what, known);
  }
}

/** A batch's keys as the producer takes them: one hash, one per value, or none. */
function batchKeys(what: string, values: readonly unknown[], options: BatchPublishOptions | undefined): Keys | undefined {
  if (options === undefined) return undefined;
  const { key, keyOf } = options;
  if (key !== undefined && keyOf !== undefined) throw new InvalidOptionError(`${what}: pass key (one key for the whole batch) or keyOf (a key per value), not both`);
  if (key !== undefined) return keyHash(key, `${what} key`);
  if (keyOf === undefined) return undefined;
  if (typeof keyOf !== 'function') throw new InvalidOptionError(`${what}: keyOf must be a function (value, index) => key, got ${V.describe(keyOf)}`);
  const keys = new Int32Array(values.length);
  for (let i = 0; i < values.length; i++) keys[i] = keyHash(keyOf(values[i], i), `${what} keyOf(value ${i})`);
  return keys;
}
