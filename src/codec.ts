import { isMap, isSet } from 'node:util/types';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { describe } from './describe.js';
import { EncodeError, InvalidOptionError } from './errors.js';
import { STRUCTURED_NAME, structuredParts } from './structured.js';
import { decodeScalar, NOT_SCALAR, scalarWriter } from './msgpack-scalars.js';
import type { Codec, CodecName } from './types.js';

export type { Codec, CodecName } from './types.js';

export const CODEC_RAW = 0;
export const CODEC_MSGPACK = 1;
export const CODEC_JSON = 2;
export const CODEC_STRUCTURED = 3;
export const FIRST_USER_CODEC = 16;

/**
 * Raw bytes, zero-copy on both sides of the ring: the reader gets a view of the ring's
 * memory, valid until its handler returns (the reader's position is committed after it,
 * and then producers may overwrite the bytes). Copy with `slice()` what you keep.
 */
export const raw: Codec<Uint8Array> = {
  id: CODEC_RAW,
  name: 'raw',
  encode(value) {
    if (!(value instanceof Uint8Array)) {
      throw new EncodeError('raw', `expected a Uint8Array, got ${describe(value)}`);
    }
    return value;
  },
  decode: (bytes) => bytes,
  decodeRange: rawView,
};

// The memory's buffer and offset, kept: reading `.buffer` of a view of shared memory costs
// as much as making the new view (~17 ns), and a reader's memory is the same on every call.
let viewedMemory: Uint8Array | undefined;
let viewedBuffer: ArrayBufferLike = new ArrayBuffer(0);
let viewedOffset = 0;

/** A view made from the buffer directly: subarray() costs more (it looks up the species constructor). */
function rawView(memory: Uint8Array, start: number, end: number): Uint8Array {
  if (memory !== viewedMemory) {
    viewedMemory = memory;
    viewedBuffer = memory.buffer;
    viewedOffset = memory.byteOffset;
  }
  return new Uint8Array(viewedBuffer, viewedOffset + start, end - start);
}

/**
 * The default: what `postMessage` carries (structured clone), given back as
 * `structuredClone` would give it; functions and symbols are refused with an EncodeError.
 * A format of ringbus's own (msgpackr's MessagePack extensions, V8's serializer for the
 * rare rest: see structured.ts); readers outside JavaScript want `msgpack()`.
 */
export function structured<T = unknown>(): Codec<T> {
  const parts = structuredParts();
  return {
    id: CODEC_STRUCTURED,
    name: STRUCTURED_NAME,
    encode: parts.encode as (value: T) => Uint8Array,
    decode: parts.decode as (bytes: Uint8Array) => T,
    decodeRange: parts.decodeRange as (memory: Uint8Array, start: number, end: number) => T,
  };
}

/**
 * Strict, standard MessagePack through @msgpack/msgpack (no extensions of ringbus's own),
 * for readers outside JavaScript: one encoder and one decoder reused per thread. Binary
 * and extension fields come out as copies, not as views of the ring. Only what MessagePack
 * has survives: a class instance arrives as a plain object, undefined in an object as null,
 * a typed array other than Uint8Array as its bytes; a Map or a Set is refused.
 */
export function msgpack<T = unknown>(): Codec<T> {
  const encoder = new Encoder();
  const checked = refusingProtoKeys(encoder);
  keepingNegativeZero(encoder);
  const scalars = scalarWriter();
  const encode = viewReusingEncode(encoder) ?? ((value: unknown) => encoder.encodeSharedRef(value));
  const decoder = copyingDecoder();
  return {
    id: CODEC_MSGPACK,
    name: 'msgpack',
    encode(value) {
      if (typeof value === 'number') {
        const bytes = scalars.number(value, true);
        if (bytes !== undefined) return bytes;
      } else if (typeof value === 'boolean' || value === null) return scalars.constant(value as boolean | null);
      if (!checked && hasProtoKey(value, 0)) throw protoKeyError();
      try {
        return encode(value);
      } catch (cause) {
        if (cause instanceof EncodeError) throw cause;
        throw new EncodeError('msgpack', (cause as Error).message, { cause });
      }
    },
    decode: (bytes) => decoder.decode(bytes) as T,
    decodeRange: decoder.decodeRange as ((memory: Uint8Array, start: number, end: number) => T) | undefined,
  };
}

/**
 * @msgpack/msgpack writes -0 as the integer 0 (a silently changed value); MessagePack's
 * float64 keeps it. Where the encoder's number writer can be wrapped (the pinned 3.1), -0
 * anywhere in a value is written as a float64; a top-level -0 is, in any case (see
 * msgpack-scalars.ts).
 */
function keepingNegativeZero(encoder: Encoder): void {
  const e = encoder as unknown as { encodeNumber?: (n: number) => void; encodeNumberAsFloat?: (n: number) => void };
  const encodeNumber = e.encodeNumber;
  if (typeof encodeNumber !== 'function' || typeof e.encodeNumberAsFloat !== 'function') return;
  e.encodeNumber = function (this: { encodeNumberAsFloat(n: number): void }, n: number) {
    if (n === 0 && 1 / n < 0) this.encodeNumberAsFloat(n);
    else encodeNumber.call(this, n);
  };
}

/**
 * Every MessagePack decoder in JavaScript refuses (or drops) a map key "__proto__", which
 * would set the prototype of the object it builds: written as it is, such an event would
 * fail in every reader. JSON.parse makes such keys as own properties, so they do arrive:
 * refuse them at publish, where the producer can rename them. The check rides the
 * encoder's own walk over objects (one hasOwn per object); true where it could be put there.
 */
function refusingProtoKeys(encoder: Encoder): boolean {
  const e = encoder as unknown as { encodeMap?: (object: object, depth: number) => void };
  const encodeMap = e.encodeMap;
  if (typeof encodeMap !== 'function') return false;
  e.encodeMap = function (this: unknown, object: object, depth: number) {
    if (isEnumerableOwn.call(object, '__proto__')) throw protoKeyError(); // own and enumerable: what encodeMap writes
    if (isMap(object) || isSet(object)) throw collectionError(object);
    encodeMap.call(this, object, depth);
  };
  return true;
}

const isEnumerableOwn = Object.prototype.propertyIsEnumerable;

function protoKeyError(): EncodeError {
  return new EncodeError(
    'msgpack',
    'an object has an own key "__proto__", which MessagePack decoders refuse (it would set the prototype of the object read); rename the key, or publish with the structured or json codec, which carry it',
  );
}

/**
 * @msgpack/msgpack writes a Map or a Set as the map of its own enumerable keys: none, so
 * its contents would arrive as an empty object without a word.
 */
function collectionError(value: Map<unknown, unknown> | Set<unknown>): EncodeError {
  const map = isMap(value); // of any realm (a vm context's too)
  return new EncodeError(
    'msgpack',
    `${map ? 'a Map' : 'a Set'} has no MessagePack form (it would arrive as an empty object); publish ${map ? 'Object.fromEntries(map) or [...map]' : '[...set]'}, or use the structured codec, which carries it`,
  );
}

/** The slow walk refusingProtoKeys() saves, for an encoder whose internals changed. */
function hasProtoKey(value: unknown, depth: number): boolean {
  if (typeof value !== 'object' || value === null || depth > 100 || ArrayBuffer.isView(value)) return false;
  if (Array.isArray(value)) return value.some((item) => hasProtoKey(item, depth + 1));
  if (isMap(value) || isSet(value)) throw collectionError(value);
  if (isEnumerableOwn.call(value, '__proto__')) return true;
  return Object.values(value).some((item) => hasProtoKey(item, depth + 1));
}

/** The parts of @msgpack/msgpack's Encoder (3.1) that viewReusingEncode drives; checked before use. */
interface EncoderInternals {
  bytes: Uint8Array;
  pos: number;
  entered: boolean;
  reinitializeState(): void;
  doEncode(value: unknown, depth: number): void;
}

/** Encodings up to this many bytes get a view kept for their length (a small event's). */
const REUSED_VIEWS = 64;

/**
 * encodeSharedRef() makes a new subarray of the encoder's buffer on every call: in Node 20
 * a typed array costs 100–200 ns to make and more to collect, several times the encoding
 * of a small event. The bus copies what encode() returns before the next call, so one
 * view per length, over the buffer as it is, does the same work. Only where the encoder's
 * internals are the ones this was written against (a pinned minor version).
 */
function viewReusingEncode(encoder: Encoder): ((value: unknown) => Uint8Array) | undefined {
  const e = encoder as unknown as EncoderInternals;
  if (
    typeof e.reinitializeState !== 'function' ||
    typeof e.doEncode !== 'function' ||
    typeof e.pos !== 'number' ||
    typeof e.entered !== 'boolean' ||
    !(e.bytes instanceof Uint8Array)
  ) {
    return undefined;
  }
  let views: Uint8Array[] = [];
  let over = e.bytes;
  return (value) => {
    if (e.entered) return encoder.encodeSharedRef(value); // a nested encode (an extension's)
    e.entered = true;
    try {
      e.reinitializeState();
      e.doEncode(value, 1);
    } finally {
      e.entered = false;
    }
    const length = e.pos;
    if (length > REUSED_VIEWS) return e.bytes.subarray(0, length);
    if (over !== e.bytes) {
      views = []; // the encoder grew its buffer
      over = e.bytes;
    }
    return (views[length] ??= over.subarray(0, length));
  };
}

/** The parts of @msgpack/msgpack's Decoder (3.1) that decodeRange drives; checked before use. */
interface DecoderInternals {
  bytes: Uint8Array;
  view: DataView;
  pos: number;
  totalPos: number;
  headByte: number;
  entered: boolean;
  stack: { stackHeadPosition: number };
  doDecodeSync(): unknown;
}

/**
 * @msgpack/msgpack returns `bin` (and extension) data as subarrays of its input, which here
 * is the ring: a value kept after the handler would change under the user. Its
 * decodeBinary() is the one place that makes them; where it cannot be wrapped, decode a copy.
 */
function copyingDecoder(): { decode(bytes: Uint8Array): unknown; decodeRange?(memory: Uint8Array, start: number, end: number): unknown } {
  const decoder = new Decoder();
  const inner = decoder as unknown as { decodeBinary?: (...args: unknown[]) => Uint8Array };
  const decodeBinary = inner.decodeBinary;
  if (typeof decodeBinary !== 'function') return { decode: (bytes) => decoder.decode(bytes.slice()) };
  inner.decodeBinary = function (this: unknown, ...args: unknown[]) {
    return decodeBinary.apply(this, args).slice();
  };
  return { decode: (bytes) => decoder.decode(bytes), decodeRange: rangeDecoder(decoder) };
}

/**
 * decode() makes a DataView of its input on every call, which was an eighth of a pipeline
 * stage's time with small events. Pointed once at the whole memory, the decoder reads a
 * record in place from its offset; the end check decode() does is done here. Only where
 * the decoder's internals are the ones this was written against (a pinned minor version).
 */
function rangeDecoder(decoder: Decoder): ((memory: Uint8Array, start: number, end: number) => unknown) | undefined {
  const d = decoder as unknown as DecoderInternals;
  if (
    typeof d.doDecodeSync !== 'function' ||
    typeof d.pos !== 'number' ||
    typeof d.totalPos !== 'number' ||
    typeof d.headByte !== 'number' ||
    typeof d.entered !== 'boolean' ||
    !(d.view instanceof DataView) ||
    typeof d.stack?.stackHeadPosition !== 'number'
  ) {
    return undefined;
  }
  // One view per memory: the decoder is shared by a thread's readers, which may take turns record by record
  const views = new WeakMap<Uint8Array, DataView>();
  return (memory, start, end) => {
    const scalar = decodeScalar(memory, start, end);
    if (scalar !== NOT_SCALAR) return scalar;
    if (d.entered) return decoder.decode(memory.slice(start, end)); // a nested decode (an extension's)
    // decode() points both at its input together, so the same bytes mean the same view (and a
    // view's .buffer of shared memory costs ~17 ns: not read per record)
    if (d.bytes !== memory) {
      let view = views.get(memory);
      if (view === undefined) views.set(memory, (view = new DataView(memory.buffer, memory.byteOffset, memory.byteLength)));
      d.bytes = memory;
      d.view = view;
    }
    d.entered = true;
    try {
      // reinitializeState() without its stack.reset(): that empties the pool of array and
      // map states by setting its length, so every later container allocated them again
      d.totalPos = 0;
      d.headByte = -1;
      d.stack.stackHeadPosition = -1;
      d.pos = start;
      const value = d.doDecodeSync();
      if (d.pos !== end) throw new RangeError(`MessagePack value of ${end - start} bytes decoded to ${d.pos - start}: the record is not one MessagePack value`);
      return value;
    } finally {
      d.entered = false;
    }
  };
}

/** JSON text in UTF-8. */
export function json<T = unknown>(): Codec<T> {
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  return {
    id: CODEC_JSON,
    name: 'json',
    encode(value) {
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch (cause) {
        throw new EncodeError('json', (cause as Error).message, { cause });
      }
      if (text === undefined) throw new EncodeError('json', `${describe(value)} has no JSON form`);
      return encoder.encode(text);
    },
    decode: (bytes) => JSON.parse(decoder.decode(bytes)) as T,
  };
}

/** A codec by name, or the codec itself. */
export function resolveCodec(codec: CodecName | Codec<any> | undefined): Codec<any> {
  if (codec === undefined || codec === 'structured') return structured();
  if (codec === 'msgpack') return msgpack();
  if (codec === 'json') return json();
  if (codec === 'raw') return raw;
  if (isBuiltIn(codec)) return codec;
  return checkUserCodec(codec);
}

function isBuiltIn(codec: unknown): codec is Codec<any> {
  const c = codec as Codec<any>;
  return (
    c === raw ||
    (typeof c === 'object' &&
      c !== null &&
      ((c.id === CODEC_STRUCTURED && c.name === STRUCTURED_NAME) ||
        (c.id === CODEC_MSGPACK && c.name === 'msgpack') ||
        (c.id === CODEC_JSON && c.name === 'json')))
  );
}

function checkUserCodec(codec: unknown): Codec<any> {
  const c = codec as Codec<any>;
  if (typeof c !== 'object' || c === null || typeof c.encode !== 'function' || typeof c.decode !== 'function' || typeof c.name !== 'string') {
    throw new InvalidOptionError(
      `a codec is 'structured' (the default), 'msgpack', 'json', 'raw' or an object { id, name, encode(value): Uint8Array, decode(bytes): value }; got ${describe(codec)}`,
    );
  }
  if (typeof c.id !== 'number' || !Number.isInteger(c.id) || c.id < FIRST_USER_CODEC || c.id > 255) {
    throw new InvalidOptionError(
      `codec "${c.name}" has id ${describe(c.id)}: a user codec needs an integer id from ${FIRST_USER_CODEC} to 255 (0-15 belong to ringbus)`,
    );
  }
  if (c.decodeRange !== undefined && typeof c.decodeRange !== 'function')
    throw new InvalidOptionError(`codec "${c.name}": decodeRange, where given, must be a function`);
  return c;
}

/**
 * The built-in decoders, made once per thread and shared by its readers (which only read
 * the table): made per reader, they were four encoders and five decoders allocated at
 * every open, 1–5 ms of a heal's reader open in a thread that had just woken up.
 */
let builtins: Codec<any>[] | undefined;

/** The codecs a reader can decode: the built-ins plus the user's own, by id. */
export function codecTable(extra: readonly Codec<any>[]): readonly Codec<any>[] {
  if (builtins === undefined) {
    builtins = [];
    for (const c of [raw, msgpack(), json(), structured()]) builtins[c.id] = c;
  }
  if (extra.length === 0) return builtins;
  const table = builtins.slice();
  for (const c of extra) table[c.id] = checkUserCodec(c);
  return table;
}
