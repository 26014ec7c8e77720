// Numbers, true, false and null in MessagePack, written and read by hand for the structured
// and msgpack codecs: the bytes their libraries write (and read), without the libraries'
// calls. A number through msgpackr cost ~120 ns each way (a new Buffer view per pack, a copy
// out of shared memory per unpack); here it costs a few.

/** What decodeScalar() returns for a record that is not one of its scalars. */
export const NOT_SCALAR: unique symbol = Symbol('not a scalar');

/** Writes numbers, true, false and null; one per codec, so that what one encode() returned stays intact until that codec encodes again. */
export interface ScalarWriter {
  /**
   * A number as MessagePack: an integer in the 32-bit ranges in its smallest form, as
   * msgpackr and @msgpack/msgpack write it; any other (fractions, -0, NaN, ±Infinity, and
   * larger integers unless `wide` says otherwise) as a float64, which keeps every bit (both
   * libraries would write -0 as 0). With `wide`, a larger integer is undefined: @msgpack/msgpack
   * writes it as a 64-bit integer, which readers outside JavaScript expect.
   */
  number(n: number, wide?: boolean): Uint8Array | undefined;
  /** true, false or null. */
  constant(value: boolean | null): Uint8Array;
}

export function scalarWriter(): ScalarWriter {
  const out = new Uint8Array(9);
  const view = new DataView(out.buffer);
  // a view per length written: the bus copies what encode() returns before the next call
  const lengths = [0, 1, 2, 3, 0, 5, 0, 0, 0, 9].map((n) => out.subarray(0, n));
  return {
    number(n, wide = false) {
      if (n >>> 0 === n && (n !== 0 || 1 / n > 0)) {
        if (n < 0x80) {
          out[0] = n;
          return lengths[1];
        }
        if (n < 0x100) {
          out[0] = 0xcc;
          out[1] = n;
          return lengths[2];
        }
        if (n < 0x10000) {
          out[0] = 0xcd;
          view.setUint16(1, n);
          return lengths[3];
        }
        out[0] = 0xce;
        view.setUint32(1, n);
        return lengths[5];
      }
      if ((n | 0) === n && n < 0) {
        if (n >= -32) {
          out[0] = n & 0xff;
          return lengths[1];
        }
        if (n >= -0x80) {
          out[0] = 0xd0;
          out[1] = n & 0xff;
          return lengths[2];
        }
        if (n >= -0x8000) {
          out[0] = 0xd1;
          view.setInt16(1, n);
          return lengths[3];
        }
        out[0] = 0xd2;
        view.setInt32(1, n);
        return lengths[5];
      }
      if (wide && Number.isInteger(n) && (n !== 0 || 1 / n > 0)) return undefined;
      out[0] = 0xcb;
      view.setFloat64(1, n);
      return lengths[9];
    },
    constant(value) {
      out[0] = value === null ? 0xc0 : value ? 0xc3 : 0xc2;
      return lengths[1];
    },
  };
}

let viewed: Uint8Array | undefined;
let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(0));

/**
 * The number, boolean or null that `memory[start, end)` holds, when it is one of the forms
 * encodeNumber() writes (or nil, true, false); else NOT_SCALAR, for msgpackr to read.
 */
export function decodeScalar(memory: Uint8Array, start: number, end: number): unknown {
  const first = memory[start];
  const length = end - start;
  if (length === 1) {
    if (first < 0x80) return first;
    if (first >= 0xe0) return first - 0x100;
    if (first === 0xc0) return null;
    if (first === 0xc2) return false;
    if (first === 0xc3) return true;
    return NOT_SCALAR;
  }
  if (first < 0xcb || first > 0xd2) return NOT_SCALAR;
  if (memory !== viewed) {
    viewed = memory;
    view = new DataView(memory.buffer, memory.byteOffset, memory.byteLength);
  }
  const at = start + 1;
  switch (first) {
    case 0xcb:
      return length === 9 ? view.getFloat64(at) : NOT_SCALAR;
    case 0xcc:
      return length === 2 ? memory[at] : NOT_SCALAR;
    case 0xcd:
      return length === 3 ? view.getUint16(at) : NOT_SCALAR;
    case 0xce:
      return length === 5 ? view.getUint32(at) : NOT_SCALAR;
    case 0xd0:
      return length === 2 ? view.getInt8(at) : NOT_SCALAR;
    case 0xd1:
      return length === 3 ? view.getInt16(at) : NOT_SCALAR;
    case 0xd2:
      return length === 5 ? view.getInt32(at) : NOT_SCALAR;
    default:
      return NOT_SCALAR; // 0xcf, 0xd3: 64-bit integers, which msgpackr reads as its options say
  }
}
