import type { Bus } from './bus.js';
import type { Cursor, HeldBatch } from './cursor/cursor.js';
import type { Producer } from './producer.js';
import type { Reader } from './reader.js';
import type { Ring } from './ring.js';

/**
 * What the pipeline, the bridges and the tests reach behind the public classes: not part
 * of the package's API (the package's `exports` do not list this module). The classes
 * fill these hooks in from their static blocks, so their state stays `#private`.
 */
export interface Hooks {
  ring(bus: Bus<any>): Ring;
  producer(bus: Bus<any>): Producer;
  timeoutMs(bus: Bus<any>): number;
  cursor(reader: Reader<any>): Cursor<any>;
  readBatch(reader: Reader<any>, max: number, into: HeldBatch, decode: boolean): number;
  valueAt(reader: Reader<any>, head: number): unknown;
}

export const hooks = {} as Hooks;

/** One thread's view of the bus's ring: its core, memory views and topic table. */
export function ringOf(bus: Bus<any>): Ring {
  return hooks.ring(bus);
}

/** This thread's producer on the bus. */
export function producerOf(bus: Bus<any>): Producer {
  return hooks.producer(bus);
}

/** The cursor behind a reader: its slot, and its group's slot for a member. */
export function cursorOf(reader: Reader<any>): Cursor<any> {
  return hooks.cursor(reader);
}

/** The id of a topic in this bus, for publishByIds(). */
export function topicIdOf(bus: Bus<any>, topic: string): number {
  return hooks.ring(bus).topicId(topic);
}

/**
 * publishEvents() (wait true) or tryPublishEvents() (wait false) with topics given by id,
 * for the pipeline's stage workers: no per-event objects or lookups. Only the first
 * `count` entries are published (the workers reuse their arrays).
 */
export function publishByIds(bus: Bus<any>, topicIds: readonly number[], values: readonly unknown[], wait: boolean, count = values.length): number {
  const producer = hooks.producer(bus);
  if (!wait) return producer.tryPublishBatch(topicIds, values, undefined, count);
  producer.publishBatchSync(topicIds, values, hooks.timeoutMs(bus), 'publishEvents', undefined, count);
  return count;
}

/**
 * read() into the caller's arrays (from index 0), without an object per event: for the
 * pipeline's stage workers. `decode` false leaves `values` alone (the records are read
 * where they lie, through `heads`). Returns the number of events; commit() as after read().
 */
export function readBatch(reader: Reader<any>, max: number, into: HeldBatch, decode: boolean): number {
  return hooks.readBatch(reader, max, into, decode);
}

/** The value of the event whose header lies at `head`, of a batch readBatch() holds. */
export function valueAt(reader: Reader<any>, head: number): unknown {
  return hooks.valueAt(reader, head);
}

/**
 * publishEventsAsync() of records copied out of a ring, published again as they were:
 * payload i (its key included) with `kept[i]`, the codec and key flag of its meta word.
 */
export function publishEncodedAsync(bus: Bus<any>, topicIds: readonly number[], payloads: readonly Uint8Array[], kept: readonly number[]): Promise<void> {
  const deadline = performance.now() + hooks.timeoutMs(bus);
  return hooks.producer(bus).publishBatchAsync(topicIds, payloads, deadline, 'publishEventsAsync', undefined, undefined, kept);
}

/**
 * publishByIds() of records that lie in another ring (`from`, at the header positions
 * `heads`), copied as they are (codec and key kept) under the topics `topicIds`: no
 * decoding, no encoding. Entries [start, start + count) of both arrays.
 */
export function publishRecords(
  bus: Bus<any>,
  topicIds: readonly number[],
  from: Ring,
  heads: readonly number[],
  wait: boolean,
  start: number,
  count: number,
): number {
  const producer = hooks.producer(bus);
  if (!wait) return producer.tryPublishRecords(topicIds, from, heads, start, count);
  producer.publishRecordsSync(topicIds, from, heads, start, count, hooks.timeoutMs(bus));
  return count;
}
