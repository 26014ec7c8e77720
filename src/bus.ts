import { type Codec, type CodecName, resolveCodec } from './codec.js';
import { InvalidOptionError, TimeoutError } from './errors.js';
import * as L from './layout.js';
import { checkOptions } from './options.js';
import { type Claim, Producer } from './producer.js';
import { Reader, type ReaderOptions } from './reader.js';
import { readerStats, type ReaderStats } from './stats.js';
import { slotKind, slotName } from './registry.js';
import { type BusHandle, checkHandle, createRing, Ring } from './ring.js';
import { resolveWaitStrategy, type WaitStrategy, type WaitStrategyName } from './wait-strategy.js';

export interface AttachOptions {
  /** Codec for what this thread publishes: 'structured' (default), 'msgpack', 'json', 'raw' or your own. */
  codec?: CodecName | Codec<any>;
  /** How publishing waits for space and drain() for readers. Default 'block'. */
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
  timeoutMs?: number;
}

export interface ClaimOptions extends PublishOptions {
  /** Records of `byteLength` bytes to claim at once. Default 1. */
  count?: number;
}

/** An event to publish with publishEvents(). */
export interface OutgoingEvent {
  topic: string;
  value: unknown;
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

/** Creates a bus in new shared memory. Hand `bus.handle` to workers, which call attach(). */
const ATTACH_OPTIONS: readonly (keyof AttachOptions)[] = ['codec', 'wait', 'timeoutMs'];
const BUS_OPTIONS: readonly (keyof BusOptions)[] = [...ATTACH_OPTIONS, 'capacity', 'topics', 'maxReaders'];

export function createBus(options: BusOptions = {}): Bus {
  checkOptions('createBus() options', options, BUS_OPTIONS);
  const handle = createRing({
    capacity: options.capacity ?? 1 << 20,
    maxReaders: options.maxReaders ?? 64,
    topics: options.topics ?? ['default'],
  });
  return new Bus(handle, options);
}

/** Attaches to a bus from its handle (in a worker, or anywhere the handle was sent). */
export function attach(handle: BusHandle, options: AttachOptions = {}): Bus {
  checkHandle(handle);
  checkOptions('attach() options', options, ATTACH_OPTIONS);
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
    this.timeoutMs = options.timeoutMs ?? Infinity;
    if (!(this.timeoutMs > 0)) throw new InvalidOptionError(`timeoutMs must be a positive number of milliseconds, got ${options.timeoutMs}`);
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
  publish(topic: string, value: unknown, options?: PublishOptions): void {
    this.producer.publishSync(this.ring.topicId(topic), value, this.deadline(options));
  }

  /** Publishes one event if there is space now; false when the ring is full. */
  tryPublish(topic: string, value: unknown): boolean {
    return this.producer.tryPublish(this.ring.topicId(topic), value);
  }

  /** Publishes one event, waiting for space without blocking the event loop. */
  publishAsync(topic: string, value: unknown, options?: PublishOptions): Promise<void> {
    return this.producer.publishAsync(this.ring.topicId(topic), value, this.deadline(options));
  }

  /** Publishes events in order with one claim and one commit per ring-sized chunk. */
  publishBatch(topic: string, values: readonly unknown[], options?: PublishOptions): void {
    this.producer.publishBatchSync(this.ring.topicId(topic), values, this.deadline(options));
  }

  publishBatchAsync(topic: string, values: readonly unknown[], options?: PublishOptions): Promise<void> {
    return this.producer.publishBatchAsync(this.ring.topicId(topic), values, this.deadline(options));
  }

  /**
   * Publishes events of any topics in the order given, batched like publishBatch: one
   * claim and one commit per ring-sized chunk.
   */
  publishEvents(events: readonly OutgoingEvent[], options?: PublishOptions): void {
    const [topics, values] = this.split(events);
    this.producer.publishBatchSync(topics, values, this.deadline(options));
  }

  /**
   * Publishes the longest prefix of `events` that fits now, a whole chunk at a time, and
   * returns how many events that was. Never waits: for a thread that must not block on
   * its own backpressure.
   */
  tryPublishEvents(events: readonly OutgoingEvent[]): number {
    const [topics, values] = this.split(events);
    return this.producer.tryPublishBatch(topics, values);
  }

  publishEventsAsync(events: readonly OutgoingEvent[], options?: PublishOptions): Promise<void> {
    const [topics, values] = this.split(events);
    return this.producer.publishBatchAsync(topics, values, this.deadline(options));
  }

  /**
   * Reserves space for `count` (default 1) raw records of `byteLength` bytes and returns a
   * view of the ring to write them into: zero copies, one commit for all. Record i's
   * payload starts at `i * claim.stride`. Then `commit()` (or `abort()`): readers wait behind an open claim.
   */
  claim(topic: string, byteLength: number, options?: ClaimOptions): Claim {
    return this.producer.claimRaw(this.ring.topicId(topic), byteLength, options?.count ?? 1, this.deadline(options));
  }

  /** Opens the reader `name`, creating it if it does not exist. */
  reader<T = unknown>(name: string, options: ReaderOptions = {}): Reader<T> {
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
    const deadline = this.deadline(options);
    const site = { words: this.ring.i32, futex: this.ring.word(L.H_CURSOR_FUTEX), waiters: this.ring.word(L.H_CURSOR_WAITERS), sliceMs: 50 };
    const started = performance.now();
    if (!(await this.strategy.waitAsync(site, () => core.minGate() >= target, deadline))) {
      throw new TimeoutError('drain()', Math.round(deadline - started));
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
      published: core.counter(L.H_COMMITTED),
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
    this.producer.publishBatchSync(topicIds, values, this.deadline());
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

  private split(events: readonly OutgoingEvent[]): [number[], unknown[]] {
    if (!Array.isArray(events)) throw new InvalidOptionError(`events must be an array of { topic, value }, got ${typeof events}`);
    const topics = new Array<number>(events.length);
    const values = new Array<unknown>(events.length);
    for (let i = 0; i < events.length; i++) {
      topics[i] = this.ring.topicId(events[i].topic);
      values[i] = events[i].value;
    }
    return [topics, values];
  }

  private deadline(options?: PublishOptions): number {
    const ms = options?.timeoutMs ?? this.timeoutMs;
    if (!(ms > 0)) throw new InvalidOptionError(`timeoutMs must be a positive number of milliseconds, got ${ms}`);
    return performance.now() + ms;
  }
}
