import type { CoreMemory, CoreModule } from './core.js';
import type { Reader } from './reader.js';

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

export interface BatchPublishOptions<T = unknown> extends KeyedPublishOptions {
  /** Each value's key, by value and index (instead of one `key` for the whole batch). */
  keyOf?: (value: T, index: number) => EventKey;
}

/** Options of publishAsync(): a key, and a signal that ends the wait. */
export interface AsyncPublishOptions extends KeyedPublishOptions, AbortOptions {}

/** Options of publishBatchAsync(): keys, and a signal that ends the wait. */
export interface AsyncBatchPublishOptions<T = unknown> extends BatchPublishOptions<T>, AbortOptions {}

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

/**
 * Turns values into bytes and back. The record header carries the codec's `id`, so a
 * reader decodes each record with the codec that wrote it.
 *
 * `encode` may return a view of a buffer it reuses: the bus copies it into the ring
 * before calling `encode` again. `decode` receives a view of the ring itself, valid only
 * until the handler returns: copy what you keep.
 */
export interface Codec<T = unknown> {
  /** 0–15 are ringbus's own; a user codec picks 16–255. */
  readonly id: number;
  readonly name: string;
  encode(value: T): Uint8Array;
  decode(bytes: Uint8Array): T;
  /**
   * Optional: decodes `memory[start, end)` without a view of it being made first. Readers
   * use it where it exists; it must give what `decode(memory.subarray(start, end))` gives.
   */
  decodeRange?(memory: Uint8Array, start: number, end: number): T;
}

/** A built-in codec by name. */
export type CodecName = 'structured' | 'msgpack' | 'json' | 'raw';

/**
 * How a thread waits for a condition that another thread makes true: a reader for events,
 * a producer for space, drain() for readers. The condition is re-checked by `ready()`;
 * the strategy decides what happens between checks. Sleepers register in a waiters word so
 * that the other side calls `notify` only when somebody actually sleeps.
 */
export interface WaitStrategy {
  readonly name: 'phased' | 'spin' | 'yield' | 'block' | 'async';
  /** Blocks the thread until `ready()` or `deadline` (a performance.now() time). */
  waitSync(site: WaitSite, ready: () => boolean, deadline: number): boolean;
  /** Waits without blocking the event loop. */
  waitAsync(site: WaitSite, ready: () => boolean, deadline: number): Promise<boolean>;
}

/** A futex word and the count of threads asleep on it, as indexes into an Int32Array. */
export interface WaitSite {
  readonly words: Int32Array;
  readonly futex: number;
  readonly waiters: number;
  /** Longest single sleep, so that periodic duties (revoking a dead claim) still run. */
  readonly sliceMs: number;
}

export type WaitStrategyName = WaitStrategy['name'];

/** The phases of phased(): how long it polls, then naps, before it sleeps until notified. */
export interface PhasedOptions {
  /** Polls without pause for this long (µs). Default 100: a stream of events finds the reader awake. */
  spinMicros?: number;
  /** Then naps in slices of `napMicros`, unregistered (producers do not notify), for this long (µs). Default 1000. */
  yieldMicros?: number;
  /** One nap (µs). Default 50. */
  napMicros?: number;
}

// Typed topics: `createBus<{ orders: Order; refunds: Refund }>()` checks topic names and
// payload types at compile time. Types only: at run time a typed bus is the same Bus.

/** Topic names to the type of their values, e.g. `{ orders: Order; refunds: Refund }`. */
export type TopicMap = Record<string, unknown>;

/** The map of a bus created without one (`any`): any topic name, any value, checked at run time only. */
export type AnyTopics = any;

/** The names of a map's topics. */
export type TopicName<M> = keyof M & string;

/** An event of one of the topics `K`: testing `topic` narrows `value`. */
export type TopicEvent<M, K extends TopicName<M> = TopicName<M>> = { [P in K]: BusEvent<M[P]> & { readonly topic: P } }[K];

/**
 * A handler of a typed reader. `value` is the union of its topics' types (a handler with fewer
 * parameters than a correlated form would take is refused by TypeScript); to narrow by topic,
 * read events (`read()`, `for await`), whose `topic` narrows `value`.
 */
export type TopicHandler<M, K extends TopicName<M> = TopicName<M>> = (value: M[K], topic: K, seq: number) => void;

/** An event to publish with publishEvents() on a bus of map `M`. */
export type TopicOutgoing<M> = { [P in TopicName<M>]: { topic: P; value: M[P]; key?: EventKey } }[TopicName<M>];

/** Reader options of a typed bus: `topics` names topics of the map. */
export type TopicReaderOptions<M, K extends TopicName<M>> = Omit<ReaderOptions, 'topics'> & { topics?: readonly K[] };

/** A reader of a typed bus: the same Reader, its deliveries typed by topic. */
export interface TopicReader<M, K extends TopicName<M> = TopicName<M>> extends Reader<M[K]> {
  poll(handler: TopicHandler<M, K>, max?: number): number;
  read(max?: number): TopicEvent<M, K>[];
  take(count: number, handler: TopicHandler<M, K>, timeoutMs?: number): void;
  [Symbol.asyncIterator](): AsyncGenerator<TopicEvent<M, K>, void, undefined>;
  events(options?: AbortOptions): AsyncGenerator<TopicEvent<M, K>, void, undefined>;
}

/** What `bus.reader()` returns: a `Reader<T>` on an untyped bus, a `TopicReader` on a typed one. */
export type ReaderOf<M, T, K extends TopicName<M>> = string extends keyof M ? Reader<T> : TopicReader<M, K>;
