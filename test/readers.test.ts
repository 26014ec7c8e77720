import { describe, expect, it } from 'vitest';
import { createBus } from 'ringbus';
import { start } from './harness.js';

const MAX_EXTRA = 100;

describe('dependent readers', () => {
  it('never see an event before the reader they depend on has committed it', async () => {
    const count = 100_000;
    const bus = createBus({ capacity: 1 << 14, topics: ['t'] });
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
    const bus = createBus({ capacity: 4096 });
    expect(() => bus.reader('b', { after: ['nobody'] })).toThrow(/unknown reader "nobody"/);
  });
});

describe('lossy readers', () => {
  it('report exactly how many events they missed and never deliver torn data', async () => {
    const count = 200_000;
    const bus = createBus({ capacity: 1 << 13, topics: ['t'] });
    // A lossy reader holds nobody back: with no gating reader the producer never waits,
    // and the slow lossy reader is lapped again and again.
    bus.reader('tap', { lossy: true, start: 'newest' }).close();
    const tap = start('reader', {
      handle: bus.handle, name: 'tap', options: { lossy: true }, producers: 1, perProducer: count, maxExtra: MAX_EXTRA,
      checkOrder: false, workMicros: 20, timeoutMs: 40_000,
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
