import { Packr, RESERVE_START_SPACE, Unpackr } from 'msgpackr';
import { DefaultDeserializer, serialize } from 'node:v8';
import { EncodeError } from './errors.js';
import { decodeScalar, NOT_SCALAR, scalarWriter } from './msgpack-scalars.js';

/**
 * The default codec: what `postMessage` carries, given back as `structuredClone` would give
 * it. Most values take msgpackr's MessagePack with its type extensions (Date, Set, RegExp,
 * typed arrays, DataView, ArrayBuffer, undefined, BigInt); a walk of the value first picks
 * the form that keeps it intact:
 *
 *   plain form           msgpackr, objects as MessagePack maps
 *   0xc1 'R' + bytes     msgpackr with records (inline, self-contained): values holding a Map,
 *                        which the plain form would turn into an object
 *   0xc1 'V' + bytes     V8's own serializer (`v8.serialize`, the algorithm of structured
 *                        clone): what msgpackr would change — Errors (their stack), -0,
 *                        strings with lone surrogates, sparse arrays, a "__proto__" key,
 *                        boxed primitives, subclasses of built-ins, cycles, very deep or large
 *                        values — and what only V8 can refuse correctly
 *
 * 0xc1 is the one byte MessagePack never uses, so the first byte tells the forms apart.
 * Every form is self-contained: a reader that joins late decodes any record on its own.
 */
export const STRUCTURED_NAME = 'structured';

const MARK = 0xc1;
const RECORDS = 0x52; // 'R'
const V8 = 0x56; // 'V'

/** What the walk found: each level needs the form of that name or a later one. */
const PLAIN = 0;
const NEEDS_RECORDS = 1;
const NEEDS_V8 = 2;

/** Deeper than this, or more objects than that, goes to V8: it handles cycles and shared references. */
const MAX_DEPTH = 100;
const MAX_OBJECTS = 100_000;

// What each built-in prototype needs; a prototype not listed is looked up once (kindOf).
const KIND_OBJECT = 0;
const KIND_ARRAY = 1;
const KIND_MAP = 2;
const KIND_SET = 3;
const KIND_LEAF = 4; // msgpackr carries it exactly, nothing inside to walk
const KIND_V8 = 5;

const TYPED_ARRAYS = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
];
const kinds = new Map<object | null, number>([
  [Object.prototype, KIND_OBJECT],
  [null, KIND_OBJECT],
  [Array.prototype, KIND_ARRAY],
  [Map.prototype, KIND_MAP],
  [Set.prototype, KIND_SET],
  [Date.prototype, KIND_LEAF],
  [RegExp.prototype, KIND_LEAF],
  [ArrayBuffer.prototype, KIND_LEAF],
  [DataView.prototype, KIND_LEAF],
  ...TYPED_ARRAYS.map((c) => [c.prototype, KIND_LEAF] as [object, number]),
]);

const nativeCode = /\{\s*\[native code\]\s*\}\s*$/;

/**
 * A prototype the table does not list. A chain of the user's own classes down to
 * Object.prototype is a plain object to structured clone (own enumerable properties);
 * anything built in on the way (Error, a Map or Array subclass, WeakMap, Number, Buffer...)
 * goes to V8, which clones it or refuses it as structured clone does.
 */
function kindOf(proto: object): number {
  let kind = kinds.get(proto);
  if (kind !== undefined) return kind;
  kind = KIND_OBJECT;
  for (let p: object | null = proto; p !== null && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    const ctor = Object.hasOwn(p, 'constructor') ? (p as { constructor: unknown }).constructor : undefined;
    if (kinds.has(p) || (typeof ctor === 'function' && nativeCode.test(Function.prototype.toString.call(ctor)))) {
      kind = KIND_V8;
      break;
    }
  }
  if (kinds.size < 10_000) kinds.set(proto, kind);
  return kind;
}

let objects = 0;

/** The form `value` needs; throws EncodeError for what structured clone refuses. */
function walk(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'string':
      return value.isWellFormed() ? PLAIN : NEEDS_V8;
    case 'number':
      return value === 0 && 1 / value < 0 ? NEEDS_V8 : PLAIN;
    case 'object':
      break;
    case 'function':
      throw new EncodeError(STRUCTURED_NAME, `a function${value.name ? ` (${value.name})` : ''} cannot be cloned, as with postMessage`);
    case 'symbol':
      throw new EncodeError(STRUCTURED_NAME, `a symbol (${String(value)}) cannot be cloned, as with postMessage`);
    default:
      return PLAIN; // undefined, boolean, bigint
  }
  if (value === null) return PLAIN;
  if (depth > MAX_DEPTH || ++objects > MAX_OBJECTS) return NEEDS_V8;
  let need = PLAIN;
  switch (kindOf(Object.getPrototypeOf(value))) {
    case KIND_OBJECT:
      for (const key in value) {
        if (key === '__proto__' || !key.isWellFormed()) return NEEDS_V8;
        const n = walk((value as Record<string, unknown>)[key], depth + 1);
        if (n > need && (need = n) === NEEDS_V8) return n;
      }
      return need;
    case KIND_ARRAY: {
      const array = value as unknown[];
      for (let i = 0; i < array.length; i++) {
        const item = array[i];
        if (item === undefined && !(i in array)) return NEEDS_V8; // a hole
        const n = walk(item, depth + 1);
        if (n > need && (need = n) === NEEDS_V8) return n;
      }
      return need;
    }
    case KIND_MAP:
      need = NEEDS_RECORDS;
      for (const [k, v] of value as Map<unknown, unknown>) {
        if (walk(k, depth + 1) === NEEDS_V8 || walk(v, depth + 1) === NEEDS_V8) return NEEDS_V8;
      }
      return need;
    case KIND_SET:
      for (const item of value as Set<unknown>) {
        const n = walk(item, depth + 1);
        if (n > need && (need = n) === NEEDS_V8) return n;
      }
      return need;
    case KIND_LEAF:
      return PLAIN;
    default:
      return NEEDS_V8;
  }
}

function formOf(value: unknown): number {
  objects = 0;
  try {
    return walk(value, 0);
  } catch (error) {
    if (error instanceof RangeError) return NEEDS_V8; // the walk ran out of stack: V8 decides
    throw error;
  }
}

/**
 * Node's deserializer returns typed arrays as views of its input, which here is the ring:
 * each gets a buffer of its own, as structured clone gives it.
 */
class CopyingDeserializer extends DefaultDeserializer {
  _readHostObject(): unknown {
    const view = (DefaultDeserializer.prototype as unknown as { _readHostObject(this: DefaultDeserializer): ArrayBufferView })._readHostObject.call(this);
    if (view instanceof DataView) return new DataView(view.buffer.slice(view.byteOffset, view.byteOffset + view.byteLength));
    if (Buffer.isBuffer(view)) return Buffer.from(view);
    return new (view.constructor as new (source: ArrayBufferView) => ArrayBufferView)(view);
  }
}

const MAX_SCRATCH = 1 << 20;
const copyBytes = Buffer.prototype.copy as (this: Uint8Array, target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number) => number;

const COMMON = { moreTypes: true, copyBuffers: true, useToJSON: false } as const;

/** The structured codec's encoder and decoder; one of each per thread. */
export function structuredParts(): {
  encode(value: unknown): Uint8Array;
  decode(bytes: Uint8Array): unknown;
  decodeRange(memory: Uint8Array, start: number, end: number): unknown;
} {
  const plain = new Packr({ ...COMMON, useRecords: false });
  const plainReader = new Unpackr({ ...COMMON, useRecords: false, mapsAsObjects: true });
  const records = new Packr({ ...COMMON, useRecords: true });
  const recordsReader = new Unpackr({ ...COMMON, useRecords: true, mapsAsObjects: false });
  const range = { start: 0, end: 0 };
  const scalars = scalarWriter();

  function encode(value: unknown): Uint8Array {
    if (typeof value === 'number') return scalars.number(value)!;
    if (typeof value === 'boolean' || value === null) return scalars.constant(value);
    const form = formOf(value);
    try {
      if (form === PLAIN) return plain.pack(value);
      if (form === NEEDS_RECORDS) {
        const bytes = records.pack(value, RESERVE_START_SPACE | 2);
        bytes[0] = MARK;
        bytes[1] = RECORDS;
        return bytes;
      }
    } catch {
      // msgpackr could not (an object of over 65,535 keys...): V8 decides
    }
    let bytes: Uint8Array;
    try {
      bytes = serialize(value);
    } catch (cause) {
      throw new EncodeError(STRUCTURED_NAME, (cause as Error).message, { cause });
    }
    // V8 writes some values it cannot read back (an Error that is its own cause, a value
    // nested too deep for the reading stack); once in the ring, such a record would fail
    // every reader. Reading it back here keeps it out. The V8 form is the rare one.
    try {
      const check = new CopyingDeserializer(bytes);
      check.readHeader();
      check.readValue();
    } catch (cause) {
      throw new EncodeError(STRUCTURED_NAME, `the value cannot be read back (${(cause as Error)?.message ?? String(cause)})`, { cause });
    }
    const out = new Uint8Array(bytes.length + 2);
    out[0] = MARK;
    out[1] = V8;
    out.set(bytes, 2);
    return out;
  }

  // msgpackr's native string reader refuses shared memory, and its failure costs ~15 µs a
  // record: records in shared memory are decoded from a private copy (~50 ns for 100 bytes).
  let scratch = Buffer.allocUnsafeSlow(4096);
  let lastMemory: Uint8Array | undefined;
  let lastShared = false;

  function unpack(reader: Unpackr, memory: Uint8Array, start: number, end: number): unknown {
    if (memory !== lastMemory) {
      lastMemory = memory;
      lastShared = memory.buffer instanceof SharedArrayBuffer;
    }
    if (lastShared) {
      const length = end - start;
      if (length > MAX_SCRATCH) return reader.unpack(Buffer.from(memory.subarray(start, end)));
      if (length > scratch.length) scratch = Buffer.allocUnsafeSlow(Math.max(length, scratch.length * 2));
      // Buffer's copy() costs ~40 ns before its first byte: a small record is copied by a loop
      if (length <= 64) for (let k = 0; k < length; k++) scratch[k] = memory[start + k];
      else copyBytes.call(memory, scratch, 0, start, end);
      range.start = 0;
      range.end = length;
      return reader.unpack(scratch, range);
    }
    range.start = start;
    range.end = end;
    return reader.unpack(memory as Buffer, range);
  }

  function decodeRange(memory: Uint8Array, start: number, end: number): unknown {
    const scalar = decodeScalar(memory, start, end);
    if (scalar !== NOT_SCALAR) return scalar;
    if (memory[start] !== MARK) return unpack(plainReader, memory, start, end);
    if (end - start < 2) throw new RangeError('a structured record of one byte: not written by this codec');
    const form = memory[start + 1];
    if (form === RECORDS) return unpack(recordsReader, memory, start + 2, end);
    if (form === V8) {
      const reader = new CopyingDeserializer(memory.subarray(start + 2, end));
      reader.readHeader();
      return reader.readValue();
    }
    throw new RangeError(`a structured record of form 0x${form.toString(16)}: not written by this version of ringbus`);
  }

  return { encode, decode: (bytes) => decodeRange(bytes, 0, bytes.length), decodeRange };
}
