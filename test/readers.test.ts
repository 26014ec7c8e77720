import { describe, expect, it } from 'vitest';
import { createBus, InvalidOptionError, UnknownReaderError } from 'ringbus';
import { start } from './harness.js';

const MAX_EXTRA = 100;

describe('dependent readers', () => {
  it('never see an event before the reader they depend on has committed it', async () => {
    const count = 100_000;
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 14, topics: ['t'] });
    bus.reader('parse').close();
    bus.reader('store', { after: ['parse'] }).close();
    const flags = new SharedArrayBuffer(count);
    const common = { handle: bus.handle, producers: 1, perProducer: count, maxExtra: MAX_EXTRA, stopAfter: count, checkOrder: true, timeoutMs: 40_000 };
    // parse is slow now and then, so that store keeps catching up with it
    const parse = start('reader', { ...common, name: 'parse', options: {}, markFlags: flags, workMicros: 2 });
    const store = start('reader', { ...common, name: 'store', options: { after: ['parse'] }, requireFlags: flags });
    const producer = start('producer', { handle: bus.handle, topic: 't', producer: 0, count, maxExtra: MAX_EXTRA, batchMax: 8, timeoutMs: 40_000 });
    await producer.result;
    const [p, s] = await Promise.all([parse.result, store.result]);
    expect(p.errors).toEqual([]);
    expect(s.errors).toEqual([]);
    expect(p.received).toBe(count);
    expect(s.received).toBe(count);
  });

  it('an unknown dependency is a typed error', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    expect(() => bus.reader('b', { after: ['nobody'] })).toThrow(/unknown reader "nobody"/);
  });

  it('follow their dependency by name: unsubscribed, it is a typed error (also for a reader that took its slot); created again, it is followed there', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'] });
    try {
      const parse = bus.reader('parse');
      const store = bus.reader('store', { after: ['parse'] });
      const seen: number[] = [];
      const take = (value: unknown) => void seen.push(value as number);
      bus.publishBatch('t', [1, 2, 3]);
      expect(store.poll(take)).toBe(0); // parse has not committed them
      expect(parse.poll(() => undefined, 2)).toBe(2);
      expect(store.poll(take)).toBe(2);

      // A wait under way ends with the error when the dependency goes, instead of waiting for ever.
      const waiting = store.waitAsync(5_000);
      parse.unsubscribe();
      await expect(waiting).rejects.toThrow(UnknownReaderError);
      expect(() => store.poll(take)).toThrow(/reader "store" comes after reader "parse", which no longer exists/);

      // Another reader takes the freed slot: store does not follow it.
      const other = bus.reader('other');
      expect(other.poll(() => undefined)).toBe(3);
      expect(() => store.poll(take)).toThrow(UnknownReaderError);

      // parse created again (in another slot), from the newest event on: what came before is
      // behind it, and store follows it from there.
      const again = bus.reader('parse', { start: 'newest' });
      expect(store.poll(take)).toBe(1);
      bus.publishBatch('t', [4, 5]);
      expect(store.poll(take)).toBe(0);
      expect(again.poll(() => undefined, 1)).toBe(1);
      expect(store.poll(take)).toBe(1);
      expect(again.poll(() => undefined)).toBe(1);
      expect(store.poll(take)).toBe(1);
      expect(seen).toEqual([1, 2, 3, 4, 5]);
    } finally {
      bus.close();
    }
  });

  it("never follow a reader that took a gone dependency's slot, however many looks fail first, nor one re-created as lossy; a group gone names what to open", () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'] });
    try {
      const parse = bus.reader('parse');
      const store = bus.reader('store', { after: ['parse'] });
      bus.publishBatch('t', [1, 2, 3]);
      parse.unsubscribe();
      const other = bus.reader('other'); // takes parse's slot before store looks
      for (let look = 0; look < 3; look++) expect(() => store.poll(() => undefined)).toThrow(UnknownReaderError);
      expect(other.poll(() => undefined)).toBe(3);
      expect(() => store.poll(() => undefined)).toThrow(UnknownReaderError);
      other.unsubscribe();
      const lossy = bus.reader('parse', { lossy: true });
      for (let look = 0; look < 3; look++) expect(() => store.poll(() => undefined)).toThrow(InvalidOptionError);
      expect(lossy.poll(() => undefined)).toBe(3);
      expect(() => store.poll(() => undefined)).toThrow(InvalidOptionError);

      const member = bus.reader('w1', { group: 'workers' });
      const audit = bus.reader('audit', { after: ['workers'] });
      member.unsubscribe();
      expect(() => audit.poll(() => undefined)).toThrow(/comes after group "workers".*bus\.reader\(member, \{ group: "workers" \}\)/);
    } finally {
      bus.close();
    }
  });

  it('a dependent that has read everything of a closed bus ends, whatever became of its dependency', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'] });
    const parse = bus.reader('parse');
    const store = bus.reader('store', { after: ['parse'] });
    bus.publishBatch('t', [1, 2]);
    bus.close();
    expect(parse.poll(() => undefined)).toBe(2);
    expect(store.poll(() => undefined)).toBe(2);
    parse.unsubscribe();
    expect(store.wait(10)).toBe(false);
    const rest: unknown[] = [];
    for await (const event of store) rest.push(event);
    expect(rest).toEqual([]);
    expect(store.ended).toBe(true);
  });
});

describe('lossy readers', () => {
  it('report exactly how many events they missed and never deliver torn data', async () => {
    const count = 200_000;
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 13, topics: ['t'] });
    // A lossy reader holds nobody back: with no gating reader the producer never waits,
    // and the slow lossy reader is lapped again and again.
    bus.reader('tap', { lossy: true, start: 'newest' }).close();
    const tap = start('reader', {
      handle: bus.handle,
      name: 'tap',
      options: { lossy: true },
      producers: 1,
      perProducer: count,
      maxExtra: MAX_EXTRA,
      checkOrder: false,
      workMicros: 20,
      timeoutMs: 40_000,
    });
    await tap.message('ready');
    const producer = start('producer', { handle: bus.handle, topic: 't', producer: 0, count, maxExtra: MAX_EXTRA, batchMax: 4, timeoutMs: 40_000 });
    await producer.result;
    bus.close();
    const r = await tap.result;
    expect(r.errors).toEqual([]); // every delivered payload passed its checksum, seqs only increase
    expect(r.missed).toBeGreaterThan(0);
    expect(r.received).toBeGreaterThan(0);
    expect(r.received + r.missed).toBe(count);
    // nothing invented, nothing twice
    expect((r.counts as Uint8Array).every((c) => c <= 1)).toBe(true);
  });
});

describe('a lapped lossy reader on one thread', () => {
  it('resumes at the oldest event still in the ring, not past everything', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, codec: 'raw' });
    const tap = bus.reader<Uint8Array>('tap', { lossy: true });
    for (let n = 0; n < 1_000; n++) bus.publish('default', new Uint8Array(8).fill(n & 255));
    const got: number[] = [];
    while (tap.poll((_v, _t, seq) => got.push(seq), 1_000) > 0);
    expect(got.length).toBeGreaterThan(50); // most of a 4 KiB ring of 32-byte records
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => 1_000 - got.length + i));
    expect(tap.missed + got.length).toBe(1_000);
  });
});

describe('stats of a consumer group', () => {
  it('count what the members consumed and what the group has left', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 14 });
    const a = bus.reader('a', { group: 'g' });
    const b = bus.reader('b', { group: 'g' });
    for (let n = 0; n < 10; n++) bus.publish('default', n);
    a.poll(() => undefined, 3);
    b.poll(() => undefined, 4);
    const group = bus.stats().readers.find((r) => r.name === 'g')!;
    expect(group.kind).toBe('consumer group');
    expect(group.consumed).toBe(7);
    expect(group.lagEvents).toBe(3);
    expect(group.lagBytes).toBeGreaterThan(0);
  });
});
