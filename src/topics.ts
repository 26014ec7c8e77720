// Typed topics: `createBus<{ orders: Order; refunds: Refund }>()` checks topic names and
// payload types at compile time. Types only: at run time a typed bus is the same Bus.
import type { AbortOptions } from './abort.js';
import type { BusEvent, Reader, ReaderOptions } from './reader.js';

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
export type TopicOutgoing<M> = { [P in TopicName<M>]: { topic: P; value: M[P] } }[TopicName<M>];

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
