import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createBus, EncodeError, msgpack } from 'ringbus';

/** An own key "__proto__" anywhere in a JSON value (JSON.parse makes them, and fast-check does). */
function hasProtoKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (!Array.isArray(value) && Object.hasOwn(value, '__proto__')) return true;
  return Object.values(value).some(hasProtoKey);
}

describe('msgpack decodeRange (in-place decoding)', () => {
  it('gives what decode() of a copy gives, for any value at any offset of a shared memory', () => {
    const codec = msgpack();
    const memory = new Uint8Array(new SharedArrayBuffer(1 << 16));
    expect(codec.decodeRange).toBeTypeOf('function');
    fc.assert(
      fc.property(fc.jsonValue(), fc.uint8Array({ maxLength: 64 }), fc.nat(1000), (value, bin, offset) => {
        if (hasProtoKey(value)) {
          expect(() => codec.encode({ value, bin })).toThrow(EncodeError);
          return;
        }
        const bytes = codec.encode({ value, bin }).slice();
        memory.fill(0xc1); // never a valid MessagePack byte: a read past the record would show
        memory.set(bytes, offset);
        const outcome = (decode: () => unknown) => {
          try {
            return { value: decode() as { value: unknown; bin: Uint8Array } };
          } catch (error) {
            return { error: String(error) };
          }
        };
        const inPlace = outcome(() => codec.decodeRange!(memory, offset, offset + bytes.length));
        expect(inPlace).toEqual(outcome(() => codec.decode(bytes.slice())));
        if (inPlace.value) expect(inPlace.value.bin.buffer).not.toBe(memory.buffer); // binary fields are copies, not views of the ring
      }),
      { numRuns: 500 },
    );
  });

  it('refuses a range that is not exactly one value', () => {
    const codec = msgpack();
    const memory = new Uint8Array(new SharedArrayBuffer(256));
    const bytes = codec.encode([1, 2, 3]).slice();
    memory.set(bytes, 10);
    expect(() => codec.decodeRange!(memory, 10, 10 + bytes.length + 1)).toThrow(/not one MessagePack value/);
    expect(codec.decodeRange!(memory, 10, 10 + bytes.length)).toEqual([1, 2, 3]);
  });

  it('decodes containers right after a decode that failed inside nested ones (the reused states start clean)', () => {
    const codec = msgpack();
    const memory = new Uint8Array(new SharedArrayBuffer(1024));
    const whole = codec.encode({ a: [1, { b: [2, 3] }], c: 'x' }).slice();
    memory.set(whole, 0);
    // cut inside the inner array: the decoder fails with array and map states open
    expect(() => codec.decodeRange!(memory, 0, whole.length - 6)).toThrow();
    const next = codec.encode([[4, 5], { d: [6] }, 7]).slice();
    memory.set(next, 512);
    expect(codec.decodeRange!(memory, 512, 512 + next.length)).toEqual([[4, 5], { d: [6] }, 7]);
    expect(codec.decodeRange!(memory, 0, whole.length)).toEqual({ a: [1, { b: [2, 3] }], c: 'x' });
  });
});

describe("a thread's readers share its decoders", () => {
  it('decodes right when readers of different rings take turns record by record, in every built-in codec', () => {
    for (const codec of ['msgpack', 'structured', 'json'] as const) {
      const buses = [0, 1, 2].map(() => createBus({ topics: ['t'], codec, capacity: 1 << 12 }));
      try {
        const readers = buses.map((bus, b) => {
          bus.publishBatch(
            't',
            Array.from({ length: 50 }, (_, i) => ({ bus: b, i, text: `${b}:${i}`, list: [b, i] })),
          );
          return bus.reader('r');
        });
        for (let i = 0; i < 50; i++) {
          readers.forEach((reader, b) => {
            const got: unknown[] = [];
            expect(reader.poll((value) => void got.push(value), 1)).toBe(1);
            expect(got).toEqual([{ bus: b, i, text: `${b}:${i}`, list: [b, i] }]);
          });
        }
      } finally {
        for (const bus of buses) bus.close();
      }
    }
  });
});

describe('msgpack encode', () => {
  it('refuses an own key "__proto__" at any depth with an EncodeError that names the codecs which carry it, and stays usable', () => {
    const codec = msgpack();
    for (const text of ['{"__proto__":1}', '[{"a":{"__proto__":{"x":1}}}]', '{"b":[1,{"__proto__":null}]}']) {
      expect(() => codec.encode(JSON.parse(text))).toThrow(/"__proto__".*structured or json/);
    }
    expect(codec.decode(codec.encode({ a: [{ b: 1 }], proto: '__proto__' }).slice())).toEqual({ a: [{ b: 1 }], proto: '__proto__' });
    expect(codec.decode(codec.encode({ __proto_: 1 }).slice())).toEqual({ __proto_: 1 });
    // own but not enumerable: the encoder writes enumerable keys only, so nothing to refuse
    const hidden = Object.defineProperty({ e: 1 }, '__proto__', { value: 1, enumerable: false });
    expect(codec.decode(codec.encode(hidden).slice())).toEqual({ e: 1 });
  });

  it('refuses a Map or a Set at any depth with an EncodeError (its contents would arrive as an empty object), and stays usable', () => {
    const codec = msgpack();
    for (const value of [new Map([['a', 1]]), new Set([1]), { m: new Map() }, [1, { s: new Set(['x']) }]]) {
      expect(() => codec.encode(value)).toThrow(EncodeError);
    }
    expect(() => codec.encode(new Map([['a', 1]]))).toThrow(/Object\.fromEntries/);
    expect(codec.decode(codec.encode({ a: [1, { b: 2 }] }).slice())).toEqual({ a: [1, { b: 2 }] });
  });

  it('returns the bytes of each value, whatever the lengths of the values encoded before it', () => {
    const codec = msgpack();
    const reference = msgpack();
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 20 }), (values) => {
        for (const value of values) {
          if (hasProtoKey(value)) {
            expect(() => codec.encode(value)).toThrow(EncodeError);
            continue;
          }
          const bytes = codec.encode(value);
          expect(bytes.length).toBeGreaterThan(0);
          expect(codec.decode(bytes.slice())).toEqual(reference.decode(reference.encode(value).slice()));
        }
      }),
      { numRuns: 300 },
    );
  });
});
