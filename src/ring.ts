import { instantiate, ringModule, type RingCore } from './core.js';
import { IncompatibleHandleError, UnknownTopicError } from './errors.js';
import * as L from './layout.js';
import { watchRing } from './thread-deaths.js';
import { watchKeyedDeaths } from './keyed.js';
import type { BusHandle } from './types.js';

export type { BusHandle } from './types.js';

/** One thread's view of a ring: the core instance, typed views and the topic table. */
export class Ring {
  readonly core: RingCore;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
  /** The whole memory as f64 words: the producer counters. */
  readonly f64: Float64Array;
  readonly data: number;
  readonly capacity: number;
  readonly mask: number;
  readonly maxReaders: number;
  /** Largest claim in bytes, headers included. */
  readonly maxSpan: number;
  readonly maxPayload: number;
  readonly topics: readonly string[];
  private readonly topicIds = new Map<string, number>();

  constructor(readonly handle: BusHandle) {
    try {
      this.core = instantiate(handle.module, handle.memory);
    } catch (cause) {
      throw new IncompatibleHandleError(
        `the handle's module cannot run on its memory (${String((cause as Error)?.message ?? cause)}); pass bus.handle unchanged, as createBus() made it`,
      );
    }
    const status = this.core.attachRing();
    if (status === L.ATTACH_NO_RING) throw new IncompatibleHandleError('this memory holds no ringbus ring; pass the handle of a bus made by createBus()');
    if (status === L.ATTACH_OTHER_VERSION)
      throw new IncompatibleHandleError('the ring was laid out by another ringbus version; attach with the same ringbus version that created the bus');
    this.u8 = new Uint8Array(handle.memory.buffer);
    this.i32 = new Int32Array(handle.memory.buffer);
    this.f64 = new Float64Array(handle.memory.buffer);
    this.data = this.core.dataOffset();
    this.capacity = this.header(L.H_CAPACITY);
    this.mask = this.capacity - 1;
    this.maxReaders = this.header(L.H_MAX_READERS);
    this.maxSpan = this.header(L.H_MAX_SPAN);
    this.maxPayload = this.maxSpan - L.RECORD_HEADER;
    this.topics = handle.topics;
    if (this.header(L.H_TOPIC_COUNT) !== handle.topics.length || this.header(L.H_TOPIC_HASH) !== topicHash(handle.topics)) {
      throw new IncompatibleHandleError("the handle's topics do not match the ring's; pass the handle exactly as bus.handle gave it");
    }
    handle.topics.forEach((t, i) => this.topicIds.set(t, i));
    watchRing(this.core);
    watchKeyedDeaths(this);
  }

  header(offset: number): number {
    return Atomics.load(this.i32, (L.RING_BASE + offset) >> 2);
  }

  /** Index into `i32` of a header word. */
  word(offset: number): number {
    return (L.RING_BASE + offset) >> 2;
  }

  /** Index into `i32` of a word of producer slot `slot`. */
  producerWord(slot: number, offset: number): number {
    return (L.RING_BASE + L.HEADER_BYTES + this.maxReaders * L.SLOT_BYTES + slot * L.PRODUCER_BYTES + offset) >> 2;
  }

  /** Index into `f64` of producer slot `slot`'s counter row (see L.C_BLOCKED_MS). */
  counterRow(slot: number): number {
    return (this.data + this.capacity + slot * counterRowBytes(this.topics.length)) >> 3;
  }

  slotWord(slot: number, offset: number): number {
    return (this.core.slotOffset(slot) + offset) >> 2;
  }

  topicId(topic: string): number {
    const id = this.topicIds.get(topic);
    if (id === undefined) throw new UnknownTopicError(topic, this.topics);
    return id;
  }

  get closed(): boolean {
    return this.header(L.H_CLOSED) !== 0;
  }
}

export interface RingOptions {
  capacity: number;
  maxReaders: number;
  topics: readonly string[];
}

/** Lays out a new ring in a new shared memory and returns its handle; the options are checked (src/validate.ts). */
export function createRing({ capacity, maxReaders, topics }: RingOptions): BusHandle {
  const bytes =
    L.RING_BASE +
    L.HEADER_BYTES +
    maxReaders * L.SLOT_BYTES +
    L.MAX_PRODUCERS * L.PRODUCER_BYTES +
    L.KEYED_GROUPS * L.KEYED_BYTES +
    capacity +
    L.MAX_PRODUCERS * counterRowBytes(topics.length);
  const pages = Math.ceil(bytes / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const module = ringModule();
  const core = instantiate(module, memory);
  core.initRing(capacity, maxReaders, capacity / 4, topics.length, topicHash(topics));
  return { ringbus: L.LAYOUT_VERSION, memory, module, topics: [...topics] };
}

/** Bytes of one producer's counter row: its own 64-byte lines, so that no two producers write one line. */
export function counterRowBytes(topics: number): number {
  return Math.ceil((L.COUNTER_HEAD_BYTES + topics * L.COUNTER_TOPIC_BYTES) / 64) * 64;
}

function topicHash(topics: readonly string[]): number {
  let hash = 0x811c9dc5;
  for (const topic of topics) {
    for (let i = 0; i < topic.length; i++) hash = Math.imul(hash ^ topic.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ 0, 0x01000193);
  }
  return hash | 0;
}
