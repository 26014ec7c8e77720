import { describe, expect, it } from 'vitest';
import {
  attach,
  BusClosedError,
  type Codec,
  createBus,
  DecodeError,
  EncodeError,
  IncompatibleHandleError,
  InvalidOptionError,
  ReaderBusyError,
  ReaderClosedError,
  RecordTooLargeError,
  RingbusError,
  TooManyReadersError,
  UnknownReaderError,
  UnknownTopicError,
} from 'ringbus';

/** After any rejected call the ring must still work: publish and read one event. */
function stillWorks(bus = createBus({ timeoutMs: 10_000, capacity: 4096 }), name = `probe-${Math.random()}`): void {
  const reader = bus.reader(name, { start: 'newest' });
  bus.publish(bus.topics[0], { ok: true });
  const got: unknown[] = [];
  reader.poll((v) => got.push(v));
  expect(got).toEqual([{ ok: true }]);
  reader.unsubscribe();
}

describe('bad input gets a typed error and leaves the ring consistent', () => {
  it('capacity that is not a power of two, or too small, or too large', () => {
    for (const capacity of [5000, 1024, 0, -4096, 1.5, 2 ** 31, Number.NaN]) {
      expect(() => createBus({ timeoutMs: 10_000, capacity })).toThrow(InvalidOptionError);
    }
    expect(() => createBus({ timeoutMs: 10_000, capacity: 3000 })).toThrow(/power of two/);
  });

  it('other bad options', () => {
    expect(() => createBus({ timeoutMs: 10_000, topics: [] })).toThrow(InvalidOptionError);
    expect(() => createBus({ timeoutMs: 10_000, topics: ['a', 'a'] })).toThrow(/distinct/);
    expect(() => createBus({ timeoutMs: 10_000, maxReaders: 0 })).toThrow(InvalidOptionError);
    expect(() => createBus({ timeoutMs: 10_000, codec: 'xml' as never })).toThrow(InvalidOptionError);
    expect(() => createBus({ timeoutMs: 10_000, wait: 'sleep' as never })).toThrow(InvalidOptionError);
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    expect(() => bus.reader('r', { start: 'middle' as never })).toThrow(InvalidOptionError);
    expect(() => bus.reader('r', { lossy: true, group: 'g' })).toThrow(InvalidOptionError);
    expect(() => bus.reader('x'.repeat(65))).toThrow(InvalidOptionError);
    stillWorks(bus);
  });

  it('a record over the maximum', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, codec: 'raw' });
    const reader = bus.reader<Uint8Array>('r');
    expect(bus.maxPayload).toBe(4096 / 4 - 16);
    expect(() => bus.publish('default', new Uint8Array(bus.maxPayload + 1))).toThrow(RecordTooLargeError);
    expect(() => bus.tryPublish('default', new Uint8Array(5000))).toThrow(/create the bus with a larger capacity/);
    expect(() => bus.publishBatch('default', [new Uint8Array(8), new Uint8Array(bus.maxPayload + 1)])).toThrow(RecordTooLargeError);
    expect(() => bus.claim('default', bus.maxPayload + 1)).toThrow(RecordTooLargeError);
    // the largest record fits, and nothing of the rejected calls reached the ring
    bus.publish('default', new Uint8Array(bus.maxPayload).fill(7));
    const got: Uint8Array[] = [];
    reader.poll((v) => got.push(v.slice()));
    expect(got.length).toBe(1);
    expect(got[0].length).toBe(bus.maxPayload);
    expect(bus.stats().published).toBe(1);
  });

  it('a value the codec cannot encode', () => {
    const structured = createBus({ timeoutMs: 10_000, capacity: 4096 }); // the default codec
    expect(() => structured.publish('default', () => 1)).toThrow(EncodeError);
    expect(() => structured.publish('default', { f: () => 1 })).toThrow(/structured/);
    expect(() => structured.publishBatch('default', [1, Symbol('x')])).toThrow(EncodeError);
    stillWorks(structured);
    const msgpack = createBus({ timeoutMs: 10_000, capacity: 4096, codec: 'msgpack' });
    expect(() => msgpack.publish('default', () => 1)).toThrow(EncodeError);
    expect(() => msgpack.publish('default', { when: 10n })).toThrow(/msgpack/); // @msgpack/msgpack refuses BigInt
    expect(() => msgpack.publishBatch('default', [1, Symbol('x')])).toThrow(EncodeError);
    stillWorks(msgpack);
    const json = createBus({ timeoutMs: 10_000, capacity: 4096, codec: 'json' });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    expect(() => json.publish('default', circular)).toThrow(EncodeError);
    expect(() => json.publish('default', undefined)).toThrow(/no JSON form/);
    expect(() => json.publish('default', 1n)).toThrow(EncodeError);
    const raw = createBus({ timeoutMs: 10_000, capacity: 4096, codec: 'raw' });
    expect(() => raw.publish('default', 'text')).toThrow(/expected a Uint8Array/);
    expect(structured.stats().published + msgpack.stats().published + json.stats().published + raw.stats().published).toBe(2);
  });

  it('an unknown topic or reader', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['a', 'b'] });
    expect(() => bus.publish('c', 1)).toThrow(UnknownTopicError);
    expect(() => bus.publish('c', 1)).toThrow(/declare it in createBus/);
    expect(() => bus.tryPublish('c', 1)).toThrow(UnknownTopicError);
    expect(() => bus.reader('r', { topics: ['a', 'z'] })).toThrow(UnknownTopicError);
    expect(() => bus.reader('r', { after: ['ghost'] })).toThrow(UnknownReaderError);
    stillWorks(bus);
  });

  it('a closed bus', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const reader = bus.reader('r');
    bus.publish('default', 1);
    bus.close();
    expect(() => bus.publish('default', 2)).toThrow(BusClosedError);
    expect(() => bus.tryPublish('default', 2)).toThrow(BusClosedError);
    expect(() => bus.publishBatch('default', [2, 3])).toThrow(/closed/);
    expect(() => bus.claim('default', 8)).toThrow(BusClosedError);
    await expect(bus.publishAsync('default', 2)).rejects.toThrow(BusClosedError);
    // what was published before close() is still read; nothing after it exists
    const got: unknown[] = [];
    reader.poll((v) => got.push(v));
    expect(got).toEqual([1]);
    expect(reader.wait(1000)).toBe(false);
    await bus.drain({ timeoutMs: 1000 });
  });

  it('a handle from another layout version, or no handle at all', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    expect(() => attach({ ...bus.handle, ringbus: 999 })).toThrow(IncompatibleHandleError);
    expect(() => attach({ ...bus.handle, ringbus: 999 })).toThrow(/same ringbus version/);
    expect(() => attach(null as never)).toThrow(IncompatibleHandleError);
    expect(() => attach({} as never)).toThrow(IncompatibleHandleError);
    expect(() => attach({ ...bus.handle, topics: ['other'] })).toThrow(IncompatibleHandleError);
    const empty = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
    expect(() => attach({ ...bus.handle, memory: empty })).toThrow(/no ringbus ring/);
    stillWorks(bus);
  });

  it('reader slots: busy, exhausted, unknown codec', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, maxReaders: 2 });
    bus.reader('a');
    expect(() => bus.reader('a')).toThrow(ReaderBusyError);
    bus.reader('b');
    expect(() => bus.reader('c')).toThrow(TooManyReadersError);
    const upper: Codec<string> = {
      id: 40,
      name: 'upper',
      encode: (s) => new TextEncoder().encode(s.toUpperCase()),
      decode: (b) => new TextDecoder().decode(b),
    };
    const writer = createBus({ timeoutMs: 10_000, capacity: 4096, codec: upper });
    const plain = writer.reader('plain');
    const knowing = writer.reader<string>('knowing', { codecs: [upper] });
    writer.publish('default', 'hi');
    expect(() => plain.poll(() => undefined)).toThrow(DecodeError);
    const got: string[] = [];
    knowing.poll((s) => got.push(s));
    expect(got).toEqual(['HI']);
    expect(() => createBus({ timeoutMs: 10_000, codec: { ...upper, id: 300 } })).toThrow(/id from 16 to 255/);
  });

  it('misspelt options, bad handlers, closed readers and misbehaving user codecs', () => {
    expect(() => createBus({ timeoutMs: 10_000, capcity: 4096 } as never)).toThrow(/unknown option "capcity"/);
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    expect(() => bus.reader('r', { grop: 'g' } as never)).toThrow(/unknown option "grop"/);
    expect(() => attach(bus.handle, { codecs: [] } as never)).toThrow(InvalidOptionError);
    const reader = bus.reader('r');
    expect(() => reader.poll(undefined as never)).toThrow(/handler must be a function/);
    reader.close();
    expect(() => reader.poll(() => undefined)).toThrow(ReaderClosedError);
    // ids 0-15 belong to ringbus: a user codec there would be decoded as msgpack or json
    const fake: Codec<string> = { id: 1, name: 'mine', encode: (s) => new TextEncoder().encode(s), decode: (b) => new TextDecoder().decode(b) };
    expect(() => createBus({ timeoutMs: 10_000, codec: fake })).toThrow(/id from 16 to 255/);
    expect(() => bus.reader('r2', { codecs: [fake] })).toThrow(/id from 16 to 255/);
    expect(() => createBus({ timeoutMs: 10_000, codec: 'cbor' as never })).toThrow(/got "cbor"/);
    const throwing: Codec<string> = {
      id: 20,
      name: 'picky',
      encode: () => {
        throw new TypeError('no');
      },
      decode: () => '',
    };
    const picky = createBus({ timeoutMs: 10_000, capacity: 4096, codec: throwing });
    expect(() => picky.publish('default', 'x')).toThrow(EncodeError);
    const liar: Codec<string> = { id: 21, name: 'liar', encode: () => 'text' as never, decode: () => '' };
    expect(() => createBus({ timeoutMs: 10_000, capacity: 4096, codec: liar }).publish('default', 'x')).toThrow(/not a Uint8Array/);
    stillWorks(bus);
  });

  it('every error is a RingbusError with a stable code', () => {
    expect.assertions(3);
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    try {
      bus.publish('nope', 1);
    } catch (e) {
      expect(e).toBeInstanceOf(RingbusError);
      expect((e as RingbusError).code).toBe('ERR_RINGBUS_TOPIC');
      expect((e as Error).name).toBe('UnknownTopicError');
    }
  });
});
