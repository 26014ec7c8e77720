import { instantiate, ringModule, type RingCore } from './core.js';
import { IncompatibleHandleError, InvalidOptionError, UnknownTopicError } from './errors.js';
import * as L from './layout.js';
import { watchRing } from './thread-deaths.js';

/**
 * What a worker needs to attach to a bus: structured-cloneable, so it travels through
 * `workerData`, `postMessage` or piscina's `workerData`.
 */
export interface BusHandle {
  readonly ringbus: number; // layout version
  readonly memory: WebAssembly.Memory;
  readonly module: WebAssembly.Module;
  readonly topics: readonly string[];
}

/** One thread's view of a ring: the core instance, typed views and the topic table. */
export class Ring {
  readonly core: RingCore;
  readonly u8: Uint8Array;
  readonly i32: Int32Array;
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
    this.core = instantiate(handle.module, handle.memory);
    const status = this.core.attachRing();
    if (status === 1) throw new IncompatibleHandleError('this memory holds no ringbus ring; pass the handle of a bus made by createBus()');
    if (status === 2) throw new IncompatibleHandleError('the ring was laid out by another ringbus version; attach with the same ringbus version that created the bus');
    this.u8 = new Uint8Array(handle.memory.buffer);
    this.i32 = new Int32Array(handle.memory.buffer);
    this.data = this.core.dataOffset();
    this.capacity = this.header(L.H_CAPACITY);
    this.mask = this.capacity - 1;
    this.maxReaders = this.header(L.H_MAX_READERS);
    this.maxSpan = this.header(L.H_MAX_SPAN);
    this.maxPayload = this.maxSpan - L.RECORD_HEADER;
    this.topics = handle.topics;
    if (this.header(L.H_TOPIC_COUNT) !== handle.topics.length || this.header(L.H_TOPIC_HASH) !== topicHash(handle.topics)) {
      throw new IncompatibleHandleError('the handle\'s topics do not match the ring\'s; pass the handle exactly as bus.handle gave it');
    }
    handle.topics.forEach((t, i) => this.topicIds.set(t, i));
    watchRing(this.core);
  }

  header(offset: number): number {
    return Atomics.load(this.i32, (L.RING_BASE + offset) >> 2);
  }

  /** Index into `i32` of a header word. */
  word(offset: number): number {
    return (L.RING_BASE + offset) >> 2;
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

/** Lays out a new ring in a new shared memory and returns its handle. */
export function createRing({ capacity, maxReaders, topics }: RingOptions): BusHandle {
  if (!Number.isInteger(capacity) || capacity < L.MIN_CAPACITY || capacity > L.MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw new InvalidOptionError(`capacity must be a power of two from ${L.MIN_CAPACITY} to ${L.MAX_CAPACITY} bytes, got ${capacity}; for example 1 << 20`);
  }
  if (!Number.isInteger(maxReaders) || maxReaders < 1 || maxReaders > 1024) {
    throw new InvalidOptionError(`maxReaders must be an integer from 1 to 1024, got ${maxReaders}`);
  }
  if (!Array.isArray(topics) || topics.length === 0 || topics.length > 0xffff || topics.some((t) => typeof t !== 'string' || t === '')) {
    throw new InvalidOptionError('topics must be a non-empty array of non-empty strings (at most 65535)');
  }
  if (new Set(topics).size !== topics.length) throw new InvalidOptionError(`topics must be distinct: [${topics.join(', ')}]`);
  const bytes = L.RING_BASE + L.HEADER_BYTES + maxReaders * L.SLOT_BYTES + L.MAX_PRODUCERS * L.PRODUCER_BYTES + capacity;
  const pages = Math.ceil(bytes / 65536);
  const memory = new WebAssembly.Memory({ initial: pages, maximum: pages, shared: true });
  const module = ringModule();
  const core = instantiate(module, memory);
  core.initRing(capacity, maxReaders, capacity / 4, topics.length, topicHash(topics));
  return { ringbus: L.LAYOUT_VERSION, memory, module, topics: [...topics] };
}

/** Checks that a value is a handle this version can attach to. */
export function checkHandle(handle: unknown): asserts handle is BusHandle {
  const h = handle as Partial<BusHandle> | null;
  if (h === null || typeof h !== 'object' || typeof h.ringbus !== 'number') {
    throw new IncompatibleHandleError('attach() needs the handle of a bus (bus.handle), passed through workerData or postMessage');
  }
  if (h.ringbus !== L.LAYOUT_VERSION) {
    throw new IncompatibleHandleError(`the handle is for ring layout ${h.ringbus}, this ringbus reads layout ${L.LAYOUT_VERSION}; use the same ringbus version in every thread`);
  }
  if (!(h.memory instanceof WebAssembly.Memory) || !(h.module instanceof WebAssembly.Module) || !Array.isArray(h.topics)) {
    throw new IncompatibleHandleError('the handle lacks its memory, module or topics; pass bus.handle unchanged');
  }
}

function topicHash(topics: readonly string[]): number {
  let hash = 0x811c9dc5;
  for (const topic of topics) {
    for (let i = 0; i < topic.length; i++) hash = Math.imul(hash ^ topic.charCodeAt(i), 0x01000193);
    hash = Math.imul(hash ^ 0, 0x01000193);
  }
  return hash | 0;
}
