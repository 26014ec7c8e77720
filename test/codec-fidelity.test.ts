import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { createBus, EncodeError, structured, type Bus, type Reader } from 'ringbus';
import { start } from './harness.js';
import { difference } from './workers/same-value.js';

const ERRORS = [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError];

/** Everything postMessage carries that the README lists, nested in objects, arrays, Maps and Sets. */
const leaves: fc.Arbitrary<unknown>[] = [
  fc.string({ unit: 'binary' }), // lone surrogates included
  fc.double(), // -0, NaN, infinities included
  fc.integer(),
  fc.bigInt(),
  fc.bigInt({ min: -(2n ** 200n), max: 2n ** 200n }),
  fc.constantFrom(undefined, null, true, false, -0),
  fc.date(), // invalid dates included
  fc
    .tuple(fc.constantFrom('a+', '^\\d{2,}$', '(?<n>q)|x', '\\u{1F600}', ''), fc.constantFrom('', 'g', 'iu', 'msy', 'd'))
    .map(([source, flags]) => new RegExp(source, flags)),
  fc
    .record({
      kind: fc.nat(ERRORS.length - 1),
      message: fc.string(),
      name: fc.option(fc.constantFrom('Custom', 'TypeError'), { nil: undefined }),
      cause: fc.option(fc.oneof(fc.string(), fc.integer()), { nil: undefined }),
    })
    .map(({ kind, message, name, cause }) => {
      const error = cause === undefined ? new ERRORS[kind](message) : new ERRORS[kind](message, { cause });
      if (name !== undefined) error.name = name;
      return error;
    }),
  fc.uint8Array().map((u) => u.buffer),
  fc.tuple(fc.uint8Array({ minLength: 4 }), fc.nat(3)).map(([u, at]) => new DataView(u.buffer, at)),
  fc.oneof(
    fc.int8Array(),
    fc.uint8Array(),
    fc.uint8ClampedArray(),
    fc.int16Array(),
    fc.uint16Array(),
    fc.int32Array(),
    fc.uint32Array(),
    fc.float32Array(),
    fc.float64Array(),
    fc.bigInt64Array(),
    fc.bigUint64Array(),
  ),
  fc.float64Array({ minLength: 3 }).map((f) => f.subarray(1)), // a view of part of a buffer
];

const value = fc.anything({
  values: leaves,
  key: fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('__proto__', 'constructor', '0', '1e3', 'length')),
  maxDepth: 3,
  withMap: true,
  withSet: true,
  withSparseArray: true,
  withNullPrototype: true,
  withBoxedValues: true,
  withBigInt: true,
  withDate: true,
  withTypedArray: true,
});

let bus: Bus | undefined;
afterEach(() => {
  bus?.close();
  bus = undefined;
});

/** Publishes `v` and reads it back with the bus's one reader "r". */
function roundTrip(b: Bus, v: unknown): unknown {
  const reader = readers.get(b) ?? readers.set(b, b.reader('r')).get(b)!;
  b.publish('t', v);
  const got: unknown[] = [];
  expect(reader.poll((x) => got.push(x))).toBe(1);
  return got[0];
}
const readers = new Map<Bus, Reader>();

describe('the default codec keeps what structured clone keeps', () => {
  it('gives back what structuredClone() gives, through a real bus, for any value', () => {
    bus = createBus({ capacity: 1 << 22, topics: ['t'] });
    const b = bus;
    fc.assert(
      fc.property(value, (v) => {
        const expected = structuredClone(v);
        const d = difference(roundTrip(b, v), expected);
        expect(d, d ?? '').toBeNull();
      }),
      { numRuns: 600 },
    );
  });

  it('keeps the values of the report: Date, Map, Set, undefined, Float32Array and Error come back as themselves', () => {
    bus = createBus({ topics: ['t'] });
    const v = { d: new Date(0), m: new Map([[1, 2]]), s: new Set([1]), u: undefined, n: null, f32: new Float32Array([1.5]), err: new Error('x') };
    const got = roundTrip(bus, v) as typeof v;
    expect(difference(got, structuredClone(v))).toBeNull();
    expect(got.m).toBeInstanceOf(Map);
    expect(got.m.get(1)).toBe(2);
    expect(got.s).toBeInstanceOf(Set);
    expect('u' in got && got.u === undefined).toBe(true);
    expect(got.n).toBeNull();
    expect(got.f32).toBeInstanceOf(Float32Array);
    expect(got.err).toBeInstanceOf(Error);
    expect(got.err.stack).toBe(v.err.stack);
  });

  it('turns class instances into plain objects, keeps subclasses of built-ins as the built-in, and drops their methods, as structured clone does', () => {
    bus = createBus({ topics: ['t'] });
    class Point {
      constructor(
        public x: number,
        public y: number,
      ) {}
      get sum(): number {
        return this.x + this.y;
      }
    }
    class Tagged extends Map<string, number> {}
    class Failure extends TypeError {}
    const v = { p: new Point(1, 2), list: [new Point(3, 4)], tagged: new Tagged([['a', 1]]), failure: new Failure('no') };
    const got = roundTrip(bus, v) as Record<string, unknown>;
    expect(difference(got, structuredClone(v))).toBeNull();
    expect(Object.getPrototypeOf(got.p)).toBe(Object.prototype);
    expect(got.p).toEqual({ x: 1, y: 2 });
    expect(Object.getPrototypeOf(got.tagged)).toBe(Map.prototype);
    expect(Object.getPrototypeOf(got.failure)).toBe(TypeError.prototype);
  });

  it('keeps cycles and shared references deep inside a value, as structured clone does', () => {
    bus = createBus({ topics: ['t'] });
    const node: Record<string, unknown> = { name: 'a' };
    node.self = node;
    const got = roundTrip(bus, { node }) as { node: Record<string, unknown> };
    expect(got.node.self).toBe(got.node);
    expect(got.node.name).toBe('a');
  });

  it('refuses functions and symbols with an EncodeError, and the ring is unchanged: the next event arrives at once', () => {
    bus = createBus({ topics: ['t'] });
    const reader = bus.reader('r');
    const refused = [
      () => 1,
      { f: function named() {} },
      [1, Symbol('s')],
      Symbol.iterator,
      new Map([[1, () => 2]]),
      { w: new WeakMap() },
      new Set([new WeakSet()]),
    ];
    for (const v of refused) {
      expect(() => bus!.publish('t', v)).toThrow(EncodeError);
      expect(() => bus!.publishBatch('t', [{ ok: 1 }, v])).toThrow(EncodeError); // nothing of the batch is published
    }
    expect(() => bus!.publish('t', () => 1)).toThrow(/function cannot be cloned/);
    expect(() => bus!.publish('t', Symbol('s'))).toThrow(/symbol/);
    expect(bus.stats()).toMatchObject({ claimed: 0, published: 0, tail: 0 });
    bus.publish('t', { next: 1 });
    const got: unknown[] = [];
    expect(reader.poll((x) => got.push(x))).toBe(1);
    expect(got).toEqual([{ next: 1 }]);
  });

  it('decodes in place: decodeRange over shared memory gives what decode() of a copy gives, and nothing it returns is a view of that memory', () => {
    const codec = structured();
    const memory = new Uint8Array(new SharedArrayBuffer(1 << 16));
    fc.assert(
      fc.property(value, fc.nat(1000), (v, offset) => {
        const bytes = codec.encode(v).slice();
        fc.pre(bytes.length + offset <= memory.length);
        memory.fill(0xc1);
        memory.set(bytes, offset);
        const inPlace = codec.decodeRange!(memory, offset, offset + bytes.length);
        const d = difference(inPlace, codec.decode(bytes.slice()));
        expect(d, d ?? '').toBeNull();
        memory.fill(0x00); // what the ring does to old records
        const again = difference(inPlace, structuredClone(v));
        expect(again, again ?? '').toBeNull();
      }),
      { numRuns: 300 },
    );
  });

  it('a reader that joins late, at the oldest event, decodes every form on its own', () => {
    bus = createBus({ topics: ['t'] });
    // biome-ignore lint/suspicious/noSparseArray: a hole is one of the forms under test
    const values = [{ plain: 1 }, { m: new Map([['k', new Set([1])]]) }, { e: new RangeError('r') }, [1, , 3], { n: -0 }];
    for (const v of values) bus.publish('t', v);
    const late = bus.reader('late', { start: 'oldest' });
    const got: unknown[] = [];
    expect(late.poll((x) => got.push(x))).toBe(values.length);
    for (let i = 0; i < values.length; i++) expect(difference(got[i], structuredClone(values[i]))).toBeNull();
  });

  it('across a worker thread, both ways: what the ring carries equals what postMessage carries', async () => {
    bus = createBus({ capacity: 1 << 22, topics: ['out', 'back'] });
    const values = fc.sample(value, { numRuns: 300, seed: 42 });
    const back = bus.reader('main', { topics: ['back'] });
    const worker = start<{ read: number; mismatches: string[] }>('fidelity', { handle: bus.handle, values }, 60_000);
    await worker.message('attached', 30_000);
    for (const v of values) bus.publish('out', v);
    const result = await worker.result;
    expect(result.mismatches).toEqual([]);
    expect(result.read).toBe(values.length);
    let i = 0;
    back.take(
      values.length,
      (v) => {
        const d = difference(v, structuredClone(values[i]));
        expect(d, `value ${i}: ${d}`).toBeNull();
        i++;
      },
      30_000,
    );
    expect(i).toBe(values.length);
  });
});
