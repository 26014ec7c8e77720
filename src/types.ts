import type { Codec } from './codec.js';
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
