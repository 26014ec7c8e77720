import type { Codec, CodecName } from './codec.js';
import type { CoreMemory, CoreModule } from './core.js';
import type { AnyTopics, TopicMap, TopicName, TopicOutgoing } from './topics.js';
import type { WaitStrategy, WaitStrategyName } from './wait-strategy.js';

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

/** The key of an event: a string or a safe integer (42 and '42' are the same key). */
export type EventKey = string | number;

export interface AbortOptions {
  /** Ends the wait: the call rejects with `signal.reason` (an `AbortError` unless the signal was given another). */
  signal?: AbortSignal;
}

/**
 * What a worker needs to attach to a bus: structured-cloneable, so it travels through
 * `workerData`, `postMessage` or piscina's `workerData`.
 */
export interface BusHandle {
  readonly ringbus: number; // layout version
  readonly memory: CoreMemory;
  readonly module: CoreModule;
  readonly topics: readonly string[];
}

export interface AttachOptions {
  /** Codec for what this thread publishes: 'structured' (default), 'msgpack', 'json', 'raw' or your own. */
  codec?: CodecName | Codec<any>;
  /** How publishing waits for space and drain() for readers. Default 'phased' (spin, nap, then block). */
  wait?: WaitStrategyName | WaitStrategy;
  /** Longest a blocking publish waits for space before TimeoutError. Default: no limit. */
  timeoutMs?: number;
}

export interface BusOptions<M extends TopicMap = AnyTopics> extends AttachOptions {
  /** Bytes in the data region: a power of two, at least 4096. Default 1 MiB. Records up to a quarter of it fit. */
  capacity?: number;
  /** Topic names; publish and filter by name. Default ['default']. */
  topics?: readonly TopicName<M>[];
  /** Reader slots (readers, groups and group members together). Default 64. */
  maxReaders?: number;
}

export interface PublishOptions {
  /** Longest wait for space, in ms; 0: do not wait (TimeoutError unless there is space now). Default: the bus's timeoutMs. */
  timeoutMs?: number;
}

export interface KeyedPublishOptions extends PublishOptions {
  /** The event's key: a string or a safe integer (42 and '42' are the same key). */
  key?: EventKey;
}

export interface BatchPublishOptions extends KeyedPublishOptions {
  /** Each value's key, by value and index (instead of one `key` for the whole batch). */
  keyOf?: (value: unknown, index: number) => EventKey;
}

/** Options of publishAsync(): a key, and a signal that ends the wait. */
export interface AsyncPublishOptions extends KeyedPublishOptions, AbortOptions {}

/** Options of publishBatchAsync(): keys, and a signal that ends the wait. */
export interface AsyncBatchPublishOptions extends BatchPublishOptions, AbortOptions {}

/** Options of the other calls that wait without blocking (publishEventsAsync(), drain()). */
export interface AsyncOptions extends PublishOptions, AbortOptions {}

export interface ClaimOptions extends PublishOptions {
  /** Records of `byteLength` bytes to claim at once. Default 1. */
  count?: number;
}

/** An event to publish with publishEvents(); on a typed bus, `value` has its topic's type. Keys go to every event of a call or to none. */
export type OutgoingEvent<M extends TopicMap = AnyTopics> = TopicOutgoing<M>;

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

/** One topic's publishes, from every thread, since the bus was created. */
export interface TopicStats {
  topic: string;
  /** Events committed on the topic. */
  events: number;
  /** Their payload bytes (encoded; record headers and padding not included). */
  bytes: number;
}

/** One thread that publishes on the bus (one that died is no longer listed). */
export interface ProducerStats {
  /** Its worker_threads threadId (0: the main thread). */
  thread: number;
  /** Time it spent waiting for space in the ring. */
  blockedMs: number;
}

export interface ReaderStats {
  name: string;
  kind: 'reader' | 'lossy reader' | 'consumer group' | 'group member' | 'keyed group' | 'keyed member';
  /** Bytes between the reader's committed position and the tail. */
  lagBytes: number;
  /** Events claimed by producers that the reader (or group) has not yet passed; 0 for members. */
  lagEvents: number;
  consumed: number;
  missed: number;
  waitMs: number;
}

