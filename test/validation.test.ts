// Every misuse at the public boundary gets a typed error and leaves the ring as it was:
// a table of bad calls, each followed by an event that must arrive at once.
import { describe, expect, it } from 'vitest';
import {
  attach,
  type Bus,
  type BusHandle,
  createBus,
  EncodeError,
  IncompatibleHandleError,
  InvalidOptionError,
  phased,
  type Reader,
  RecordTooLargeError,
  type RingbusError,
  TimeoutError,
  UnknownTopicError,
} from 'ringbus';
import { start } from './harness.js';

type ErrorClass = abstract new (...args: never[]) => RingbusError;
/** A bad call, the error it must get, and whether it is an async form (which must reject, not throw). */
type Misuse = [what: string, call: (bus: Bus) => unknown, error: ErrorClass];

const L = { RING_BASE: 65536, H_CAPACITY: 8, H_MAX_READERS: 12, H_MAX_SPAN: 16 };

function detached(bytes = 4): Uint8Array {
  const view = new Uint8Array(bytes);
  structuredClone(view.buffer, { transfer: [view.buffer] });
  return view;
}
const bare = () => Object.create(null) as never;
const any = (value: unknown) => value as never;

/** Runs a call; an async form must return a promise that rejects, never throw. */
async function failure(call: () => unknown, isAsync: boolean): Promise<unknown> {
  let result: unknown;
  try {
    result = call();
  } catch (error) {
    if (isAsync) return new Error(`threw synchronously instead of rejecting: ${String(error)}`);
    return error;
  }
  if (!isAsync) return new Error(`returned ${String(result)} instead of throwing`);
  if (!(result instanceof Promise)) return new Error('returned no promise');
  return result.then(
    () => new Error('resolved instead of rejecting'),
    (error: unknown) => error,
  );
}

/** The ring works right after the failed call: one event, published without waiting, is the next and only one the reader gets. */
function nextArrives(bus: Bus, reader: Reader, probe: number, value: unknown = { probe }): void {
  const published = bus.stats().published;
  bus.publish(bus.topics[0], value, { timeoutMs: 0 });
  const got: unknown[] = [];
  reader.poll((v) => got.push(v instanceof Uint8Array ? [...v] : v));
  expect(got).toEqual([value instanceof Uint8Array ? [...value] : value]);
  expect(bus.stats().published).toBe(published + 1);
}

async function checkTable(bus: Bus, misuses: Misuse[], value?: (n: number) => unknown): Promise<void> {
  const reader = bus.reader('probe');
  const readers = bus.stats().readers.map((r) => r.name);
  let n = 0;
  for (const [what, call, error] of misuses) {
    const got = await failure(() => call(bus), /Async\(|drain\(/.test(what));
    expect(got, what).toBeInstanceOf(error);
    expect((got as Error).message, what).not.toMatch(/undefined is not|Cannot (read|convert)/);
    expect(
      bus.stats().readers.map((r) => r.name),
      `${what}: no reader slot left behind`,
    ).toEqual(readers);
    nextArrives(bus, reader, n, value?.(n));
    n++;
  }
}

describe('one validation layer: every misuse gets a RingbusError and the ring still works', () => {
  it('createBus() options of the wrong kind', () => {
    const misuses: [string, () => unknown, ErrorClass][] = [
      ['wait: null', () => createBus({ wait: any(null) }), InvalidOptionError],
      ['wait: an object with no prototype', () => createBus({ wait: bare() }), InvalidOptionError],
      ['wait: { waitSync } without waitAsync', () => createBus({ wait: any({ waitSync: () => true }) }), InvalidOptionError],
      ['capacity: a symbol', () => createBus({ capacity: any(Symbol('c')) }), InvalidOptionError],
      ['capacity: a BigInt', () => createBus({ capacity: any(4096n) }), InvalidOptionError],
      ['maxReaders: an object with no prototype', () => createBus({ maxReaders: bare() }), InvalidOptionError],
      ['topics: a string', () => createBus({ topics: any('ab') }), InvalidOptionError],
      ['topics: [a symbol]', () => createBus({ topics: [any(Symbol('t'))] }), InvalidOptionError],
      ['topics: a detached typed array', () => createBus({ topics: any(detached()) }), InvalidOptionError],
      ['timeoutMs: a BigInt', () => createBus({ timeoutMs: any(10n) }), InvalidOptionError],
      ['timeoutMs: a symbol', () => createBus({ timeoutMs: any(Symbol('t')) }), InvalidOptionError],
      ['timeoutMs: NaN', () => createBus({ timeoutMs: Number.NaN }), InvalidOptionError],
      ['codec: an object with no prototype', () => createBus({ codec: bare() }), InvalidOptionError],
      [
        'codec: a name that is a symbol',
        () => createBus({ codec: any({ id: 20, name: Symbol('n'), encode: () => new Uint8Array(0), decode: () => 0 }) }),
        InvalidOptionError,
      ],
      ['options: null', () => createBus(any(null)), InvalidOptionError],
      ['options: a string', () => createBus(any('big')), InvalidOptionError],
      ['options: misspelt', () => createBus(any({ timeout: 5 })), InvalidOptionError],
    ];
    for (const [what, call, error] of misuses) expect(call, what).toThrow(error);
    expect(() => createBus(any({ timeOutMs: 5 }))).toThrow(/unknown option "timeOutMs" in createBus\(\) options \(did you mean "timeoutMs"\?\)/);
  });

  it('topic names that are not strings', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['a', 'b'] });
    await checkTable(bus, [
      ['publish(a symbol)', (b) => b.publish(any(Symbol('a')), 1), UnknownTopicError],
      ['publish(an object with no prototype)', (b) => b.publish(bare(), 1), UnknownTopicError],
      ['publish(a detached typed array)', (b) => b.publish(any(detached()), 1), UnknownTopicError],
      ['tryPublish(a symbol)', (b) => b.tryPublish(any(Symbol('a')), 1), UnknownTopicError],
      ['publishAsync(a symbol)', (b) => b.publishAsync(any(Symbol('a')), 1), UnknownTopicError],
      ['publishBatch(an object with no prototype)', (b) => b.publishBatch(bare(), [1]), UnknownTopicError],
      ['publishBatchAsync(a detached typed array)', (b) => b.publishBatchAsync(any(detached()), [1]), UnknownTopicError],
      ['publishEvents([{ topic: a symbol }])', (b) => b.publishEvents([{ topic: any(Symbol('a')), value: 1 }]), UnknownTopicError],
      ['claim(a detached typed array)', (b) => b.claim(any(detached()), 8), UnknownTopicError],
      ['reader topics: [a symbol]', (b) => b.reader('r', { topics: [any(Symbol('a'))] }), InvalidOptionError],
      ['reader topics: a string', (b) => b.reader('r', { topics: any('a') }), InvalidOptionError],
    ]);
    expect(() => bus.publish(any(Symbol('x')), 1)).toThrow(/a topic is named by a string, got Symbol\(x\)/);
  });

  it('timeoutMs that is not a number ≥ 0, and options that are not objects', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const bad: [string, unknown][] = [
      ['a BigInt', 5n],
      ['a symbol', Symbol('t')],
      ['NaN', Number.NaN],
      ['-1', -1],
      ['a string', '5'],
      ['an object with no prototype', bare()],
      ['null', null],
    ];
    const misuses: Misuse[] = [];
    for (const [name, timeoutMs] of bad) {
      misuses.push(
        [`publish({ timeoutMs: ${name} })`, (b) => b.publish('default', 1, { timeoutMs: any(timeoutMs) }), InvalidOptionError],
        [`publishAsync({ timeoutMs: ${name} })`, (b) => b.publishAsync('default', 1, { timeoutMs: any(timeoutMs) }), InvalidOptionError],
        [`publishBatch({ timeoutMs: ${name} })`, (b) => b.publishBatch('default', [1], { timeoutMs: any(timeoutMs) }), InvalidOptionError],
        [
          `publishEventsAsync({ timeoutMs: ${name} })`,
          (b) => b.publishEventsAsync([{ topic: 'default', value: 1 }], { timeoutMs: any(timeoutMs) }),
          InvalidOptionError,
        ],
        [`claim({ timeoutMs: ${name} })`, (b) => b.claim('default', 8, { timeoutMs: any(timeoutMs) }), InvalidOptionError],
        [`drain({ timeoutMs: ${name} })`, (b) => b.drain({ timeoutMs: any(timeoutMs) }), InvalidOptionError],
      );
    }
    for (const [name, options] of [
      ['null', null],
      ['a number', 5],
      ['a string', 'fast'],
      ['an array', []],
    ] as const) {
      misuses.push(
        [`publish(options: ${name})`, (b) => b.publish('default', 1, any(options)), InvalidOptionError],
        [`publishBatchAsync(options: ${name})`, (b) => b.publishBatchAsync('default', [1], any(options)), InvalidOptionError],
        [`reader(options: ${name})`, (b) => b.reader('r', any(options)), InvalidOptionError],
      );
    }
    await checkTable(bus, misuses);
  });

  it('misspelt per-call options are refused, not ignored', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const events = [{ topic: 'default', value: 1 }];
    await checkTable(bus, [
      ['publish({ timeout })', (b) => b.publish('default', 1, any({ timeout: 5 })), InvalidOptionError],
      ['publishAsync({ timeout })', (b) => b.publishAsync('default', 1, any({ timeout: 5 })), InvalidOptionError],
      ['publishBatch({ timeout })', (b) => b.publishBatch('default', [1], any({ timeout: 5 })), InvalidOptionError],
      ['publishBatchAsync({ timeout })', (b) => b.publishBatchAsync('default', [1], any({ timeout: 5 })), InvalidOptionError],
      ['publishEvents({ timeOutMs })', (b) => b.publishEvents(events, any({ timeOutMs: 5 })), InvalidOptionError],
      ['publishEventsAsync({ timeout })', (b) => b.publishEventsAsync(events, any({ timeout: 5 })), InvalidOptionError],
      ['claim({ cnt })', (b) => b.claim('default', 8, any({ cnt: 2 })), InvalidOptionError],
      ['drain({ timeOut })', (b) => b.drain(any({ timeOut: 5 })), InvalidOptionError],
      ['reader({ grop })', (b) => b.reader('r', any({ grop: 'g' })), InvalidOptionError],
    ]);
    expect(() => bus.claim('default', 8, any({ cnt: 2 }))).toThrow(/unknown option "cnt" in claim\(\) options; the options are timeoutMs, count/);
    await expect(bus.drain(any({ timeOut: 5 }))).rejects.toThrow(/did you mean "timeoutMs"/);
  });

  it('a batch is an array: strings, array-likes, typed arrays and nothing are refused at once', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const started = performance.now();
    await checkTable(bus, [
      ['publishBatch(undefined)', (b) => b.publishBatch('default', any(undefined)), InvalidOptionError],
      ['publishBatch(null)', (b) => b.publishBatch('default', any(null)), InvalidOptionError],
      ["publishBatch('abc')", (b) => b.publishBatch('default', any('abc')), InvalidOptionError],
      ['publishBatch({ length: 1e10 })', (b) => b.publishBatch('default', any({ length: 1e10 }), { timeoutMs: 1000 }), InvalidOptionError],
      ['publishBatch(a Uint8Array)', (b) => b.publishBatch('default', any(new Uint8Array(3))), InvalidOptionError],
      ['publishBatch(a Set)', (b) => b.publishBatch('default', any(new Set([1, 2]))), InvalidOptionError],
      ["publishBatchAsync('abc')", (b) => b.publishBatchAsync('default', any('abc')), InvalidOptionError],
      ['publishEvents(undefined)', (b) => b.publishEvents(any(undefined)), InvalidOptionError],
      ['publishEvents([undefined])', (b) => b.publishEvents([any(undefined)]), InvalidOptionError],
      ['publishEvents([null])', (b) => b.publishEvents([any(null)]), InvalidOptionError],
      ['publishEvents([a valid event, 7])', (b) => b.publishEvents([{ topic: 'default', value: 1 }, any(7)]), InvalidOptionError],
      ['tryPublishEvents([null])', (b) => b.tryPublishEvents([any(null)]), InvalidOptionError],
      ['publishEventsAsync([undefined])', (b) => b.publishEventsAsync([any(undefined)]), InvalidOptionError],
      ['publishEvents([{ topic, value, kye }])', (b) => b.publishEvents([any({ topic: 'default', value: 1, kye: 3 })]), InvalidOptionError],
      ['publishEventsAsync([{ topic, vaule }])', (b) => b.publishEventsAsync([any({ topic: 'default', vaule: 1 })]), InvalidOptionError],
      [
        'tryPublishEvents([ok, { topic, value, keys }])',
        (b) => b.tryPublishEvents([{ topic: 'default', value: 1 }, any({ topic: 'default', value: 2, keys: 1 })]),
        InvalidOptionError,
      ],
    ]);
    expect(performance.now() - started).toBeLessThan(5_000); // { length: 1e10 } was ten billion encodes
    expect(() => bus.publishBatch('default', any('abc'))).toThrow(/takes an array of values, got "abc"/);
    expect(() => bus.publishEvents([any({ topic: 'default', value: 1, kye: 3 })])).toThrow(
      /event 0 has a field "kye"; an event holds topic, value and, optionally, key/,
    );
    const before = bus.stats().published;
    bus.publishEvents([{ topic: 'default', value: 1, key: 'k' }]); // the three fields, as they are spelt
    expect(bus.stats().published).toBe(before + 1);
    // What read() gives ({ topic, seq, value }) is forwarded as it is; a prototype's fields are not the event's.
    const source = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const from = source.reader<number>('from');
    source.publishBatch('default', [7, 8]);
    const forwarded = from.read(10);
    expect(forwarded.map((e) => e.seq)).toEqual([0, 1]);
    const to = bus.reader<number>('to', { start: 'newest' });
    bus.publishEvents(forwarded);
    bus.publishEvents([Object.assign(Object.create({ meta: 1 }), { topic: 'default', value: 9 })]);
    expect(to.read(10).map((e) => e.value)).toEqual([7, 8, 9]);
    source.close();
  });

  it('claim() sizes and counts', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    await checkTable(bus, [
      ['claim(byteLength: a symbol)', (b) => b.claim('default', any(Symbol('n'))), InvalidOptionError],
      ['claim(byteLength: -1)', (b) => b.claim('default', -1), InvalidOptionError],
      ['claim(byteLength: 1.5)', (b) => b.claim('default', 1.5), InvalidOptionError],
      ["claim(byteLength: '8')", (b) => b.claim('default', any('8')), InvalidOptionError],
      ['claim(byteLength: more than a record holds)', (b) => b.claim('default', b.maxPayload + 1), RecordTooLargeError],
      ['claim({ count: a symbol })', (b) => b.claim('default', 8, { count: any(Symbol('n')) }), InvalidOptionError],
      ['claim({ count: 0 })', (b) => b.claim('default', 8, { count: 0 }), InvalidOptionError],
      ['claim({ count: a BigInt })', (b) => b.claim('default', 8, { count: any(2n) }), InvalidOptionError],
      ['claim({ count: more than one claim holds })', (b) => b.claim('default', 8, { count: 1000 }), InvalidOptionError],
    ]);
  });

  it('reader() names and options', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    await checkTable(bus, [
      ['reader(a symbol)', (b) => b.reader(any(Symbol('r'))), InvalidOptionError],
      ['reader(an object with no prototype)', (b) => b.reader(bare()), InvalidOptionError],
      ["reader('')", (b) => b.reader(''), InvalidOptionError],
      ["reader({ after: 'h' })", (b) => b.reader('r', { after: any('h') }), InvalidOptionError],
      ['reader({ after: [a symbol] })', (b) => b.reader('r', { after: [any(Symbol('h'))] }), InvalidOptionError],
      ['reader({ group: a symbol })', (b) => b.reader('r', { group: any(Symbol('g')) }), InvalidOptionError],
      ["reader({ lossy: 'yes' })", (b) => b.reader('r', { lossy: any('yes') }), InvalidOptionError],
      ['reader({ takeover: 1 })', (b) => b.reader('r', { takeover: any(1) }), InvalidOptionError],
      ['reader({ batchSize: a symbol })', (b) => b.reader('r', { batchSize: any(Symbol('n')) }), InvalidOptionError],
      ['reader({ start: an object with no prototype })', (b) => b.reader('r', { start: bare() }), InvalidOptionError],
      ['reader({ wait: null })', (b) => b.reader('r', { wait: any(null) }), InvalidOptionError],
      ["reader({ codecs: 'x' })", (b) => b.reader('r', { codecs: any('x') }), InvalidOptionError],
      ['reader({ group, lossy })', (b) => b.reader('r', { group: 'g', lossy: true }), InvalidOptionError],
    ]);
  });

  it("a reader's counts and timeouts: whole numbers of events, milliseconds as numbers; phased() options by name", async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const r = bus.reader('r');
    await checkTable(bus, [
      ["poll(h, '2')", () => r.poll(() => undefined, any('2')), InvalidOptionError],
      ['poll(h, 1.5)', () => r.poll(() => undefined, 1.5), InvalidOptionError],
      ["read('1')", () => r.read(any('1')), InvalidOptionError],
      ['pollRaw(h, 0)', () => r.pollRaw(() => undefined, 0), InvalidOptionError],
      ["wait('5')", () => r.wait(any('5')), InvalidOptionError],
      ['wait(NaN)', () => r.wait(Number.NaN), InvalidOptionError],
      ['wait(-1)', () => r.wait(-1), InvalidOptionError],
      ["waitAsync('5')", () => r.waitAsync(any('5')), InvalidOptionError],
      ["take(1, h, 'x')", () => r.take(1, () => undefined, any('x')), InvalidOptionError],
      ['phased({ spin: 5 })', () => phased(any({ spin: 5 })), InvalidOptionError],
      ["phased('fast')", () => phased(any('fast')), InvalidOptionError],
    ]);
    expect(r.poll(() => undefined, Infinity)).toBe(11); // one event after each misuse: all there
    expect(r.wait(0)).toBe(false);
    bus.close();
  });

  it('a raw value that cannot be read is refused before anything is claimed', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, codec: 'raw' });
    const shrinking = new ArrayBuffer(16, { maxByteLength: 16 });
    const outOfBounds = new Uint8Array(shrinking, 8, 8);
    shrinking.resize(4);
    await checkTable(
      bus,
      [
        ['publish(a detached Uint8Array)', (b) => b.publish('default', detached()), EncodeError],
        ['tryPublish(a detached Uint8Array)', (b) => b.tryPublish('default', detached()), EncodeError],
        ['publishAsync(a detached Uint8Array)', (b) => b.publishAsync('default', detached()), EncodeError],
        ['publish(a view beyond its resized buffer)', (b) => b.publish('default', outOfBounds), EncodeError],
        ['publishBatch([a Uint8Array, a detached one])', (b) => b.publishBatch('default', [new Uint8Array([1]), detached()]), EncodeError],
        ['publishEvents([{ value: a detached Uint8Array }])', (b) => b.publishEvents([{ topic: 'default', value: detached() }]), EncodeError],
      ],
      (n) => new Uint8Array([n, 0, 0]),
    );
    // an empty, readable Uint8Array is a value like any other
    const reader = bus.reader<Uint8Array>('empty', { start: 'newest' });
    bus.publish('default', new Uint8Array(0), { timeoutMs: 0 });
    expect(reader.poll((v) => expect(v.length).toBe(0))).toBe(1);
  });

  it('a user codec that returns a detached buffer gets an EncodeError, and the next event arrives at once', () => {
    const transferring = { id: 30, name: 'transferring', encode: () => detached(), decode: (b: Uint8Array) => b };
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, codec: transferring });
    const reader = bus.reader('r');
    expect(() => bus.publish('default', 1)).toThrow(/buffer was detached/);
    const plain = attach(bus.handle, { timeoutMs: 10_000 });
    plain.publish('default', 'next', { timeoutMs: 0 });
    const got: unknown[] = [];
    reader.poll((v) => got.push(v));
    expect(got).toEqual(['next']);
  });
});

describe('timeoutMs: 0 means "do not wait"', () => {
  it('every waiting form gets a TimeoutError at once from a full ring, and works when there is space', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const reader = bus.reader('r');
    bus.publish('default', 0, { timeoutMs: 0 });
    expect(reader.poll(() => undefined)).toBe(1);
    await bus.drain({ timeoutMs: 0 });
    while (bus.tryPublish('default', 0)); // full, even for the smallest record
    const started = performance.now();
    expect(() => bus.publish('default', 1, { timeoutMs: 0 })).toThrow(TimeoutError);
    expect(() => bus.publishBatch('default', [1], { timeoutMs: 0 })).toThrow(TimeoutError);
    expect(() => bus.publishEvents([{ topic: 'default', value: 1 }], { timeoutMs: 0 })).toThrow(TimeoutError);
    expect(() => bus.claim('default', 8, { timeoutMs: 0 })).toThrow(TimeoutError);
    await expect(bus.publishAsync('default', 1, { timeoutMs: 0 })).rejects.toThrow(TimeoutError);
    await expect(bus.publishBatchAsync('default', [1], { timeoutMs: 0 })).rejects.toThrow(TimeoutError);
    await expect(bus.drain({ timeoutMs: 0 })).rejects.toThrow(TimeoutError);
    expect(performance.now() - started).toBeLessThan(1_000);
    const zero = createBus({ timeoutMs: 0, capacity: 4096 }); // the bus's default too
    zero.reader('r');
    while (zero.tryPublish('default', 0));
    expect(() => zero.publish('default', 1)).toThrow(TimeoutError);
  });
});

describe('a batch that times out says which call it was and how much of it went out', () => {
  const forms: [string, (bus: Bus, values: number[]) => unknown][] = [
    ['publishBatch', (bus, values) => bus.publishBatch('default', values, { timeoutMs: 200 })],
    [
      'publishEvents',
      (bus, values) =>
        bus.publishEvents(
          values.map((value) => ({ topic: 'default', value })),
          { timeoutMs: 200 },
        ),
    ],
    ['publishBatchAsync', (bus, values) => bus.publishBatchAsync('default', values, { timeoutMs: 200 })],
    [
      'publishEventsAsync',
      (bus, values) =>
        bus.publishEventsAsync(
          values.map((value) => ({ topic: 'default', value })),
          { timeoutMs: 200 },
        ),
    ],
  ];
  for (const [call, publish] of forms) {
    it(`${call}: err.published is exactly what the reader gets`, async () => {
      const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
      const reader = bus.reader<number>('slow'); // reads nothing until the batch gave up
      bus.publish('default', -1); // an event before the batch is not counted in it
      const values = Array.from({ length: 10_000 }, (_, n) => n);
      const error = await failure(() => publish(bus, values), call.endsWith('Async'));
      expect(error).toBeInstanceOf(TimeoutError);
      const { published, message } = error as TimeoutError;
      expect(message).toMatch(
        new RegExp(`^${call} \\(waiting for space in the ring\\) did not complete within 200 ms: the first ${published} of its 10000 events were published`),
      );
      expect(published).toBeGreaterThan(0);
      expect(published).toBeLessThan(values.length);
      const got: number[] = [];
      while (reader.poll((v) => got.push(v)) > 0);
      expect(got).toEqual([-1, ...values.slice(0, published)]);
    });
  }
});

describe('attach() checks the handle and the ring header, and never hangs', () => {
  it('a handle whose memory is not shared, whose module is not the core, or that is no handle', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const emptyModule = new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
    const misuses: [string, unknown, RegExp][] = [
      ['memory not shared', { ...bus.handle, memory: new WebAssembly.Memory({ initial: 2, maximum: 2 }) }, /not shared/],
      ['an empty module', { ...bus.handle, module: emptyModule }, /not the ringbus core/],
      ['memory of one page', { ...bus.handle, memory: new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }) }, /no ringbus ring/],
      ['topics: [a symbol]', { ...bus.handle, topics: [Symbol('t')] }, /lacks its memory, module or topics/],
      ['an object with no prototype', Object.create(null), /needs the handle of a bus/],
      ['a symbol', Symbol('h'), /needs the handle of a bus/],
      ['ringbus: a BigInt', { ...bus.handle, ringbus: 1n }, /needs the handle of a bus/],
    ];
    for (const [what, handle, message] of misuses) {
      expect(() => attach(handle as BusHandle), what).toThrow(IncompatibleHandleError);
      expect(() => attach(handle as BusHandle), what).toThrow(message);
    }
    const reader = bus.reader('r');
    const replica = attach(bus.handle, { timeoutMs: 10_000 });
    replica.publish('default', 'after', { timeoutMs: 0 });
    expect(reader.poll(() => undefined)).toBe(1);
  });

  it('a damaged header (capacity, maxReaders, max span, memory too small) is refused with IncompatibleHandleError', async () => {
    const damage: [string, number, number][] = [
      ['capacity 3', L.H_CAPACITY, 3],
      ['capacity -4096', L.H_CAPACITY, -4096],
      ['capacity 2^30 in a memory of one ring of 4 KiB', L.H_CAPACITY, 2 ** 30],
      ['max span 2^30', L.H_MAX_SPAN, 2 ** 30],
      ['max span 0', L.H_MAX_SPAN, 0],
      ['maxReaders 0', L.H_MAX_READERS, 0],
      ['maxReaders 100000', L.H_MAX_READERS, 100_000],
    ];
    const handles = damage.map(([, offset, value]) => {
      const { handle } = createBus({ timeoutMs: 10_000, capacity: 4096 });
      new Int32Array(handle.memory.buffer)[(L.RING_BASE + offset) >> 2] = value;
      return handle;
    });
    // capacity and span consistent with each other, in memory too small for them
    const { handle: big } = createBus({ timeoutMs: 10_000, capacity: 4096 });
    new Int32Array(big.memory.buffer)[(L.RING_BASE + L.H_CAPACITY) >> 2] = 2 ** 29;
    new Int32Array(big.memory.buffer)[(L.RING_BASE + L.H_MAX_SPAN) >> 2] = 2 ** 27;
    handles.push(big);
    damage.push(['capacity 2^29 and span 2^27 in memory for 4 KiB', 0, 0]);
    const { outcomes } = await start<{ outcomes: { error: string | null; message: string }[] }>('attach-probe', { handles }, 20_000).result;
    outcomes.forEach((outcome, i) => {
      expect(outcome.error, damage[i][0]).toBe('IncompatibleHandleError');
      expect(outcome.message, damage[i][0]).toMatch(/header is damaged/);
    });
  });
});
