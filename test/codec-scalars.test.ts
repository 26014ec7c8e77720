import { decode as libDecode, encode as libEncode } from '@msgpack/msgpack';
import { Packr, Unpackr } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';
import { attach, type Bus, type Codec, createBus, msgpack, structured } from 'ringbus';

// Numbers, true, false and null are written and read by hand by the structured and msgpack
// codecs (src/msgpack-scalars.ts): the same bytes as their libraries, -0 kept.

const NUMBERS = [
  0,
  -0,
  1,
  -1,
  127,
  128,
  255,
  256,
  65535,
  65536,
  2 ** 31 - 1,
  2 ** 31,
  2 ** 32 - 1,
  2 ** 32,
  -32,
  -33,
  -128,
  -129,
  -32768,
  -32769,
  -(2 ** 31),
  -(2 ** 31) - 1,
  1.5,
  -2.25,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
  Number.MAX_SAFE_INTEGER,
  -Number.MAX_SAFE_INTEGER,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
];
const CONSTANTS = [true, false, null];
const SCALARS: unknown[] = [...NUMBERS, ...CONSTANTS];

/** Integers both libraries write in their smallest 32-bit (or shorter) form. */
const isInt32Range = (n: number) => Number.isInteger(n) && !Object.is(n, -0) && n >= -(2 ** 31) && n <= 2 ** 32 - 1;

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const label = (v: unknown) => (Object.is(v, -0) ? '-0' : String(v));

const CODECS: [string, () => Codec<unknown>][] = [
  ['structured', structured],
  ['msgpack', msgpack],
];

describe.each(CODECS)('%s codec: numbers, booleans and null', (name, make) => {
  it('every one comes back as itself (Object.is) through decode() of a copy and decodeRange() at any offset of shared memory', () => {
    const codec = make();
    expect(codec.decodeRange).toBeTypeOf('function');
    const memory = new Uint8Array(new SharedArrayBuffer(256));
    for (const value of SCALARS) {
      const bytes = codec.encode(value).slice(); // encode() may reuse its buffer: copied at once, as the bus does
      expect(Object.is(codec.decode(bytes.slice()), value), `${label(value)} decode`).toBe(true);
      for (const offset of [0, 1, 3, 100, 256 - bytes.length]) {
        memory.fill(0xc1); // never a MessagePack byte: a read past the record would show
        memory.set(bytes, offset);
        const got = codec.decodeRange!(memory, offset, offset + bytes.length);
        expect(Object.is(got, value), `${label(value)} at ${offset}: got ${label(got)}`).toBe(true);
      }
    }
  });

  it('-0 is written as a float64 (0xcb), which keeps its sign; 0 as the one byte 0x00', () => {
    const codec = make();
    expect(hex(codec.encode(-0))).toBe('cb8000000000000000');
    expect(hex(codec.encode(0))).toBe('00');
  });

  it('true, false and null are 0xc3, 0xc2 and 0xc0, as the libraries write them', () => {
    const codec = make();
    expect(CONSTANTS.map((c) => hex(codec.encode(c)))).toEqual(['c3', 'c2', 'c0']);
    expect(CONSTANTS.map((c) => hex(libEncode(c)))).toEqual(['c3', 'c2', 'c0']);
    expect(CONSTANTS.map((c) => hex(new Packr({ useRecords: false }).pack(c)))).toEqual(['c3', 'c2', 'c0']);
  });

  it('encodes what follows a scalar intact (the scalar buffer is not the one later values use)', () => {
    const codec = make();
    const object = { n: 1, list: [2, 'x', null], deep: { t: true } };
    const before = codec.encode(object).slice();
    const scalar = codec.encode(65536).slice();
    const after = codec.encode(object).slice();
    expect(hex(after)).toBe(hex(before));
    expect(codec.decode(after)).toEqual(object);
    expect(codec.decode(scalar)).toBe(65536);
  });

  it("what one codec's encode() returned stays intact while another codec encodes (each has its own scalar buffer)", () => {
    const codec = make();
    const other = name === 'structured' ? msgpack() : structured();
    const kept = codec.encode(300);
    const expected = hex(kept.slice());
    other.encode(7);
    other.encode(-0);
    expect(hex(kept)).toBe(expected);
  });

  it('-0 nested in objects and arrays comes back as -0', () => {
    const codec = make();
    const value = codec.decode(codec.encode({ a: -0, list: [-0, 0, 1], deep: { z: -0 } }).slice()) as { a: number; list: number[]; deep: { z: number } };
    expect(Object.is(value.a, -0)).toBe(true);
    expect(value.list.map((n) => Object.is(n, -0))).toEqual([true, false, false]);
    expect(Object.is(value.deep.z, -0)).toBe(true);
  });

  it('decodes the forms the libraries write that it does not (non-minimal ints, float32, 64-bit ints) and records that only start like a scalar', () => {
    const codec = make();
    const memory = new Uint8Array(new SharedArrayBuffer(64));
    const read = (bytesHex: string) => {
      const bytes = Buffer.from(bytesHex, 'hex');
      memory.fill(0xc1);
      memory.set(bytes, 7);
      return [codec.decodeRange!(memory, 7, 7 + bytes.length), codec.decode(Uint8Array.from(bytes))];
    };
    expect(read('cc05')).toEqual([5, 5]);
    expect(read('cd0005')).toEqual([5, 5]);
    expect(read('ce00000005')).toEqual([5, 5]);
    expect(read('d0fb')).toEqual([-5, -5]);
    expect(read('d1fffb')).toEqual([-5, -5]);
    expect(read('d2fffffffb')).toEqual([-5, -5]);
    expect(read('ca3fc00000')).toEqual([1.5, 1.5]); // float32
    // 64-bit ints, which only msgpack() writes (for numbers): read by the library, as a number
    // by @msgpack/msgpack, as a BigInt by msgpackr (what structured() writes a BigInt as)
    const wide = name === 'msgpack' ? (n: number) => n : (n: number) => BigInt(n);
    expect(read('cf0000000100000000')).toEqual([wide(2 ** 32), wide(2 ** 32)]);
    expect(read('d3ffffffff7fffffff')).toEqual([wide(-(2 ** 31) - 1), wide(-(2 ** 31) - 1)]);
    // one byte that is not a scalar: an empty map, array and string
    expect(read('80')).toEqual([{}, {}]);
    expect(read('90')).toEqual([[], []]);
    expect(read('a0')).toEqual(['', '']);
    // containers whose bytes hold scalar bytes
    expect(read('92cc05c3')).toEqual([
      [5, true],
      [5, true],
    ]);
  });
});

describe('the bytes: what msgpackr (structured) and @msgpack/msgpack (msgpack) write', () => {
  const packr = new Packr({ useRecords: false });

  it('structured(): every number but -0 as msgpackr writes it (integers past 32 bits as float64)', () => {
    const codec = structured();
    for (const n of NUMBERS) {
      if (Object.is(n, -0)) continue;
      expect(hex(codec.encode(n)), label(n)).toBe(hex(packr.pack(n)));
    }
    // the 32-bit ranges take their smallest form; beyond them, a float64
    expect(NUMBERS.filter((n) => !Object.is(n, -0) && hex(codec.encode(n)).startsWith('cb')).map(label)).toEqual(
      NUMBERS.filter((n) => !Object.is(n, -0) && !isInt32Range(n)).map(label),
    );
  });

  it('msgpack(): every number but -0 as @msgpack/msgpack writes it: integers past 32 bits as 64-bit ints (0xcf, 0xd3)', () => {
    const codec = msgpack();
    for (const n of NUMBERS) {
      if (Object.is(n, -0)) continue;
      expect(hex(codec.encode(n)), label(n)).toBe(hex(libEncode(n)));
    }
    expect(hex(codec.encode(2 ** 32))).toBe('cf0000000100000000');
    expect(hex(codec.encode(Number.MAX_SAFE_INTEGER))).toBe('cf001fffffffffffff');
    expect(hex(codec.encode(-(2 ** 31) - 1))).toBe('d3ffffffff7fffffff');
    expect(hex(codec.encode(-Number.MAX_SAFE_INTEGER))).toBe('d3ffe0000000000001');
    // not a safe integer: a float64, as the library writes it
    expect(hex(codec.encode(Number.MAX_VALUE))).toBe('cb7fefffffffffffff');
  });

  it('the int32 and uint32 ranges in their smallest forms, byte for byte, in both codecs and both libraries', () => {
    const ints = NUMBERS.filter(isInt32Range);
    expect(ints.length).toBeGreaterThan(15);
    const expected: Record<string, string> = {
      '0': '00',
      '1': '01',
      '-1': 'ff',
      '127': '7f',
      '128': 'cc80',
      '255': 'ccff',
      '256': 'cd0100',
      '65535': 'cdffff',
      '65536': 'ce00010000',
      '2147483647': 'ce7fffffff',
      '2147483648': 'ce80000000',
      '4294967295': 'ceffffffff',
      '-32': 'e0',
      '-33': 'd0df',
      '-128': 'd080',
      '-129': 'd1ff7f',
      '-32768': 'd18000',
      '-32769': 'd2ffff7fff',
      '-2147483648': 'd280000000',
    };
    expect(ints.map(label).sort()).toEqual(Object.keys(expected).sort());
    const s = structured();
    const m = msgpack();
    for (const n of ints) {
      const want = expected[label(n)];
      expect([hex(s.encode(n)), hex(m.encode(n)), hex(packr.pack(n)), hex(libEncode(n))], label(n)).toEqual([want, want, want, want]);
    }
  });

  it('the libraries read what the codecs write back as the same value, -0 included', () => {
    const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
    const s = structured();
    const m = msgpack();
    for (const v of SCALARS) {
      expect(Object.is(unpackr.unpack(Buffer.from(s.encode(v))), v), `msgpackr ${label(v)}`).toBe(true);
      expect(Object.is(libDecode(m.encode(v).slice()), v), `@msgpack/msgpack ${label(v)}`).toBe(true);
    }
  });
});

describe('through a bus', () => {
  let buses: Bus[] = [];
  afterEach(() => {
    for (const b of buses) b.close();
    buses = [];
  });

  it.each([
    ['the default codec', undefined],
    ['the msgpack codec', 'msgpack'],
  ] as const)('with %s, every scalar, -0 included, comes back as itself, published one by one and as a batch', (_, codec) => {
    const bus = createBus({ topics: ['t'], codec, capacity: 1 << 16 });
    buses.push(bus);
    const reader = bus.reader('r');
    for (const v of SCALARS) bus.publish('t', v);
    bus.publishBatch('t', SCALARS);
    const got: unknown[] = [];
    expect(reader.poll((v) => got.push(v), 1 << 10)).toBe(2 * SCALARS.length);
    const expected = [...SCALARS, ...SCALARS];
    expect(got.map(label)).toEqual(expected.map(label));
    expect(got.every((v, i) => Object.is(v, expected[i]))).toBe(true);
  });

  it('-0 written with the msgpack codec reads as -0 through a bus attached with the default codec (readers decode by the record’s codec)', () => {
    const bus = createBus({ topics: ['t'], codec: 'msgpack', capacity: 1 << 16 });
    buses.push(bus);
    const other = attach(bus.handle);
    buses.push(other);
    const reader = other.reader('r');
    bus.publish('t', -0);
    bus.publish('t', 0);
    const got: unknown[] = [];
    expect(reader.poll((v) => got.push(v))).toBe(2);
    expect(got.map(label)).toEqual(['-0', '0']);
  });
});
