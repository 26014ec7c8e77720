// The checks every public entry point runs on its arguments before it touches the ring,
// so that a misuse gets a typed error and leaves the ring as it was. Per-event checks
// stay off the hot path: options are checked only when given, and topic names by the
// lookup that publishing does anyway (Ring.topicId).
import type { RingCore } from './core.js';
import { describe } from './describe.js';
import { EncodeError, IncompatibleHandleError, InvalidOptionError } from './errors.js';
import * as L from './layout.js';
import type { ReaderOptions } from './types.js';
import type { BusHandle } from './ring.js';

export { describe };

export const MAX_READERS = 1024;
const MAX_TOPICS = 0xffff;

/** Options earlier versions took, and why they are gone. */
const REMOVED: Readonly<Record<string, string>> = {
  claimTimeoutMs:
    "claims are no longer revoked after a timeout: a live producer is waited for, and a dead one's claims are revoked when its thread ends; remove the option",
};

/**
 * Refuses what is not an options object, and unknown keys: a misspelt `timeOut` silently
 * ignored is a bug the user never sees.
 */
export function knownOptions(what: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidOptionError(`${what} must be an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (Object.hasOwn(REMOVED, key)) throw new InvalidOptionError(`option "${key}" in ${what} was removed: ${REMOVED[key]}`);
    if (!known.includes(key)) {
      const near = known.find((k) => k.toLowerCase().startsWith(key.toLowerCase()) || key.toLowerCase().startsWith(k.toLowerCase()));
      throw new InvalidOptionError(
        `unknown option ${describe(key)} in ${what}${near === undefined ? '' : ` (did you mean "${near}"?)`}; the options are ${known.join(', ')}`,
      );
    }
  }
}

/** How long a call may wait, in ms: 0 means "do not wait" (TimeoutError unless it can go on now), Infinity no limit. */
export function timeoutMs(what: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0)) {
    throw new InvalidOptionError(`${what} must be a number of milliseconds ≥ 0 (0: do not wait, Infinity: no limit), got ${describe(value)}`);
  }
  return value;
}

export function integer(what: string, value: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max !== Number.MAX_SAFE_INTEGER ? `an integer from ${min} to ${max}` : min === 1 ? 'a positive integer' : `an integer ≥ ${min}`;
    throw new InvalidOptionError(`${what} must be ${range}, got ${describe(value)}`);
  }
  return value;
}

export function flag(what: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new InvalidOptionError(`${what} must be true or false, got ${describe(value)}`);
  return value;
}

export function oneOf<T extends string>(what: string, value: unknown, choices: readonly T[]): T {
  if (!choices.includes(value as T)) throw new InvalidOptionError(`${what} must be ${choices.map((c) => `'${c}'`).join(' or ')}, got ${describe(value)}`);
  return value as T;
}

/** An array of non-empty strings (topic or reader names). A string is not a list of its letters. */
export function nameList(what: string, value: unknown): readonly string[] {
  if (!Array.isArray(value) || value.some((t) => typeof t !== 'string' || t === '')) {
    throw new InvalidOptionError(`${what} must be an array of non-empty strings, got ${describe(value)}`);
  }
  return value;
}

const utf8 = new TextEncoder();

/** A reader or group name as the registry stores it: 1 to SLOT_NAME_BYTES bytes of UTF-8. */
export function slotName(what: string, value: unknown): Uint8Array {
  if (typeof value !== 'string') throw new InvalidOptionError(`${what} must be a string, got ${describe(value)}`);
  const bytes = utf8.encode(value);
  if (bytes.length === 0 || bytes.length > L.SLOT_NAME_BYTES) {
    throw new InvalidOptionError(`${what} must be 1 to ${L.SLOT_NAME_BYTES} bytes of UTF-8, got ${describe(value)}`);
  }
  return bytes;
}

// createBus() options -------------------------------------------------------------------

export function capacity(value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < L.MIN_CAPACITY || value > L.MAX_CAPACITY || (value & (value - 1)) !== 0) {
    throw new InvalidOptionError(
      `capacity must be a power of two from ${L.MIN_CAPACITY} to ${L.MAX_CAPACITY} bytes, got ${describe(value)}; for example 1 << 20`,
    );
  }
  return value;
}

export function topicList(value: unknown): readonly string[] {
  const topics = nameList('topics', value);
  if (topics.length === 0 || topics.length > MAX_TOPICS) throw new InvalidOptionError(`topics must hold 1 to ${MAX_TOPICS} names, got ${topics.length}`);
  if (new Set(topics).size !== topics.length) throw new InvalidOptionError(`topics must be distinct: [${topics.join(', ')}]`);
  return topics;
}

// reader() options ---------------------------------------------------------------------

export const READER_OPTIONS: readonly (keyof ReaderOptions)[] = [
  'start',
  'topics',
  'after',
  'lossy',
  'group',
  'keyed',
  'wait',
  'codecs',
  'takeover',
  'batchSize',
];

/** reader() options with their defaults; `wait` and `codecs` are checked where they are resolved. */
export function readerOptions(options: ReaderOptions) {
  knownOptions('reader options', options, READER_OPTIONS);
  const lossy = flag('lossy', options.lossy ?? false);
  const group = options.group;
  if (group !== undefined) slotName('group', group);
  const after = nameList('after', options.after ?? []);
  if (lossy && group !== undefined) throw new InvalidOptionError('a lossy reader cannot join a consumer group');
  const keyed = flag('keyed', options.keyed ?? false);
  if (keyed && group === undefined) throw new InvalidOptionError("keyed: true needs a group: bus.reader(name, { group: 'games', keyed: true })");
  if (lossy && after.length > 0) throw new InvalidOptionError('a lossy reader cannot depend on other readers: it never waits for them');
  if (options.codecs !== undefined && !Array.isArray(options.codecs))
    throw new InvalidOptionError(`codecs must be an array of codecs, got ${describe(options.codecs)}`);
  return {
    start: oneOf('start', options.start ?? 'oldest', ['oldest', 'newest'] as const),
    topics: options.topics === undefined ? undefined : nameList('topics', options.topics),
    after,
    lossy,
    group,
    keyed,
    wait: options.wait,
    codecs: options.codecs ?? [],
    takeover: flag('takeover', options.takeover ?? false),
    batchSize: integer('batchSize', options.batchSize ?? 256, 1),
  };
}

// publishing ----------------------------------------------------------------------------

/**
 * A batch is an Array. Strings, typed arrays, array-likes and other iterables are refused
 * rather than guessed at: 'abc' would be three events, and `{ length: 1e10 }` ten billion.
 */
export function batch(what: string, values: unknown): readonly unknown[] {
  if (!Array.isArray(values))
    throw new InvalidOptionError(`${what} takes an array of values, got ${describe(values)}; turn other iterables into one with Array.from()`);
  return values;
}

export function eventList(what: string, events: unknown): readonly { topic: unknown; value: unknown }[] {
  if (!Array.isArray(events)) throw new InvalidOptionError(`${what} takes an array of { topic, value }, got ${describe(events)}`);
  return events;
}

/** One element of publishEvents()'s array. */
export function event(what: string, event: unknown, index: number): { topic: unknown; value: unknown } {
  if (typeof event !== 'object' || event === null)
    throw new InvalidOptionError(`${what}: event ${index} must be an object { topic, value }, got ${describe(event)}`);
  // A misspelt `key` would publish the event without one: a keyed group would then spread it.
  // `seq` is what read() gives beside topic and value: forwarded events carry it (the ring
  // numbers events itself). Own fields only: what a prototype adds is not the caller's.
  for (const field in event) {
    if (field !== 'topic' && field !== 'value' && field !== 'key' && field !== 'seq' && Object.hasOwn(event, field)) {
      throw new InvalidOptionError(
        `${what}: event ${index} has a field "${field}"; an event holds topic, value and, optionally, key (and seq, which is ignored)`,
      );
    }
  }
  return event as { topic: unknown; value: unknown };
}

const EMPTY = new Uint8Array(0);

/**
 * What a codec's encode() returned, checked before anything is claimed: a detached
 * buffer (transferred to another thread) reads as zero bytes, and copying it would throw
 * only once the claim is open.
 */
export function encoded(bytes: unknown, codec: string): Uint8Array {
  if (!(bytes instanceof Uint8Array)) throw new EncodeError(codec, `its encode() returned ${describe(bytes)}, not a Uint8Array`);
  if (bytes.length === 0) {
    try {
      EMPTY.set(bytes); // throws exactly when the view cannot be read: detached, or out of its resized buffer
    } catch {
      throw new EncodeError(codec, 'the Uint8Array cannot be read: its buffer was detached (transferred to another thread) or resized below it');
    }
  }
  return bytes;
}

// attach() ------------------------------------------------------------------------------

/** Every export the TypeScript side calls; a key missing here is a compile error. */
const CORE_EXPORTS: Record<keyof RingCore, true> = {
  initRing: true,
  attachRing: true,
  dataOffset: true,
  keyedOffset: true,
  setCursorLocked: true,
  slotOffset: true,
  holdPosition: true,
  minGate: true,
  claim: true,
  commit: true,
  claimPosition: true,
  closeRing: true,
  wakeAll: true,
  registerReader: true,
  releaseReader: true,
  available: true,
  cursor: true,
  cursorIndex: true,
  advance: true,
  openClaimAt: true,
  pendingSeq: true,
  revoke: true,
  abort: true,
  acquireProducer: true,
  producerOwner: true,
  producerOf: true,
  deadSlot: true,
  claimOwner: true,
  blockedAt: true,
  lapped: true,
  resync: true,
  seqFromPosition: true,
  groupClaim: true,
  memberPending: true,
  memberDone: true,
  tailPosition: true,
  addProducerWait: true,
  addSlotCounter: true,
  counter: true,
  committedEvents: true,
  slotCounter: true,
};

const AS_HANDLE = 'pass bus.handle unchanged, as createBus() made it';

/**
 * Checks a handle before anything runs on it: its shape, its module, and the ring header
 * in its memory. A damaged header (capacity 3, a span of 2^30) would otherwise make the
 * first claim loop for ever or write outside the ring.
 */
export function busHandle(handle: unknown): asserts handle is BusHandle {
  const h = handle as Partial<BusHandle> | null;
  if (h === null || typeof h !== 'object' || typeof h.ringbus !== 'number') {
    throw new IncompatibleHandleError(`attach() needs the handle of a bus (bus.handle), passed through workerData or postMessage; got ${describe(handle)}`);
  }
  if (h.ringbus !== L.LAYOUT_VERSION) {
    throw new IncompatibleHandleError(
      `the handle is for ring layout ${h.ringbus}, this ringbus reads layout ${L.LAYOUT_VERSION}; use the same ringbus version in every thread`,
    );
  }
  if (
    !(h.memory instanceof WebAssembly.Memory) ||
    !(h.module instanceof WebAssembly.Module) ||
    !Array.isArray(h.topics) ||
    h.topics.some((t) => typeof t !== 'string')
  ) {
    throw new IncompatibleHandleError(`the handle lacks its memory, module or topics; ${AS_HANDLE}`);
  }
  coreModule(h.module);
  ringHeader(h.memory);
}

function coreModule(module: WebAssembly.Module): void {
  const functions = new Set(
    WebAssembly.Module.exports(module)
      .filter((e) => e.kind === 'function')
      .map((e) => e.name),
  );
  const missing = Object.keys(CORE_EXPORTS).filter((name) => !functions.has(name));
  if (missing.length > 0) {
    throw new IncompatibleHandleError(
      `the handle's module is not the ringbus core (it lacks ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ', …' : ''}); ${AS_HANDLE}`,
    );
  }
}

function ringHeader(memory: WebAssembly.Memory): void {
  const buffer: unknown = memory.buffer;
  if (!(buffer instanceof SharedArrayBuffer))
    throw new IncompatibleHandleError(`the handle's memory is not shared, so no other thread can see the ring; ${AS_HANDLE}`);
  if (buffer.byteLength < L.RING_BASE + L.HEADER_BYTES)
    throw new IncompatibleHandleError('this memory holds no ringbus ring; pass the handle of a bus made by createBus()');
  const header = new Int32Array(buffer, L.RING_BASE, L.HEADER_BYTES >> 2);
  const field = (offset: number) => Atomics.load(header, offset >> 2);
  if (field(L.H_MAGIC) !== L.MAGIC) throw new IncompatibleHandleError('this memory holds no ringbus ring; pass the handle of a bus made by createBus()');
  if (field(L.H_VERSION) !== L.LAYOUT_VERSION) {
    throw new IncompatibleHandleError('the ring was laid out by another ringbus version; attach with the same ringbus version that created the bus');
  }
  const cap = field(L.H_CAPACITY);
  const readers = field(L.H_MAX_READERS);
  const span = field(L.H_MAX_SPAN);
  const damaged = (what: string) =>
    new IncompatibleHandleError(
      `the ring's header is damaged: ${what}; something other than ringbus wrote into its memory, so the ring cannot be trusted: create a new bus`,
    );
  if (cap < L.MIN_CAPACITY || cap > L.MAX_CAPACITY || (cap & (cap - 1)) !== 0)
    throw damaged(`capacity ${cap} is not a power of two from ${L.MIN_CAPACITY} to ${L.MAX_CAPACITY}`);
  if (readers < 1 || readers > MAX_READERS) throw damaged(`maxReaders ${readers} is not from 1 to ${MAX_READERS}`);
  if (span !== cap / 4) throw damaged(`the largest claim is ${span} bytes, not a quarter of the capacity (${cap / 4})`);
  const needed = L.RING_BASE + L.HEADER_BYTES + readers * L.SLOT_BYTES + L.MAX_PRODUCERS * L.PRODUCER_BYTES + L.KEYED_GROUPS * L.KEYED_BYTES + cap;
  if (buffer.byteLength < needed)
    throw damaged(`a ring of ${cap} bytes and ${readers} readers needs ${needed} bytes of memory, and there are ${buffer.byteLength}`);
}
