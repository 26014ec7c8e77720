import { describe, expect, it } from 'vitest';
import { createBus } from 'ringbus';
import { start } from './harness.js';

describe('reading on the main thread', () => {
  it('for await leaves the event loop free while it waits', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 14, topics: ['t'], codec: 'raw' });
    const reader = bus.reader<Uint8Array>('main', { wait: 'async' });
    let ticks = 0;
    let ticksBeforeFirst = -1;
    const timer = setInterval(() => ticks++, 5);
    // A producer worker starts publishing only after 200 ms.
    const producer = start('producer', {
      handle: bus.handle,
      topic: 't',
      producer: 0,
      count: 5_000,
      maxExtra: 40,
      batchMax: 8,
      timeoutMs: 20_000,
      delayMs: 200,
    });
    const got: number[] = [];
    const waitLimit = setTimeout(() => bus.close(), 20_000); // never hang: closing ends the loop
    for await (const event of reader) {
      if (ticksBeforeFirst < 0) ticksBeforeFirst = ticks;
      got.push(new DataView(event.value.buffer, event.value.byteOffset).getUint32(4));
      if (got.length === 5_000) bus.close();
    }
    clearTimeout(waitLimit);
    clearInterval(timer);
    await producer.result;
    expect(ticksBeforeFirst).toBeGreaterThanOrEqual(10); // timers fired while the loop waited
    expect(got).toEqual(Array.from({ length: 5_000 }, (_, i) => i));
  });

  it('the loop ends once the bus is closed and everything before close() was read', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 12, topics: ['a', 'b'] });
    const reader = bus.reader<{ n: number }>('r', { topics: ['b'] });
    for (let n = 0; n < 10; n++) bus.publish(n % 2 ? 'a' : 'b', { n });
    bus.close();
    const seen: number[] = [];
    for await (const { value, topic } of reader) {
      expect(topic).toBe('b');
      seen.push(value.n);
    }
    expect(seen).toEqual([0, 2, 4, 6, 8]);
  });

  it('an event whose loop body throws is delivered again', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 12 });
    bus.reader('r').close();
    for (let n = 0; n < 3; n++) bus.publish('default', n);
    bus.close();
    await expect(async () => {
      for await (const { value } of bus.reader<number>('r')) if (value === 1) throw new Error('boom');
    }).rejects.toThrow('boom');
    const rest: number[] = [];
    for await (const { value } of bus.reader<number>('r', { takeover: true })) rest.push(value);
    expect(rest).toEqual([1, 2]);
  });

  it('poll commits the events before a throwing handler and redelivers the failing one', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 12 });
    const reader = bus.reader<number>('r');
    bus.publishBatch('default', [0, 1, 2, 3]);
    const seen: number[] = [];
    expect(() =>
      reader.poll((n) => {
        if (n === 2) throw new Error('boom');
        seen.push(n);
      }),
    ).toThrow('boom');
    reader.poll((n) => seen.push(n));
    expect(seen).toEqual([0, 1, 2, 3]);
  });
});

describe('zero-copy raw records', () => {
  it('claim({ count }) writes a batch in place; pollRaw reads it without copies', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 14, topics: ['a', 'b'] });
    const reader = bus.reader('r', { topics: ['b'] });
    const claim = bus.claim('b', 12, { count: 5 });
    expect(claim.count).toBe(5);
    expect(claim.stride).toBe(32);
    for (let i = 0; i < 5; i++) claim.bytes.fill(i + 1, i * claim.stride, i * claim.stride + 12);
    expect(reader.pollRaw(() => undefined)).toBe(0); // nothing visible before commit
    claim.commit();
    bus.publish('a', 'filtered out');
    const got: [number[], string, number, number][] = [];
    const n = reader.pollRaw((rec) => got.push([[...rec.bytes.subarray(rec.offset, rec.offset + rec.length)], rec.topic, rec.seq, rec.codec]));
    expect(n).toBe(5);
    expect(got).toEqual([0, 1, 2, 3, 4].map((i) => [Array(12).fill(i + 1), 'b', i, 0]));
  });

  it('a batch claim larger than a quarter of the ring is refused', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    expect(() => bus.claim('default', 64, { count: 100 })).toThrow(/claim fewer at a time/);
    expect(() => bus.claim('default', 8, { count: 0 })).toThrow(/positive integer/);
    expect(() => bus.reader('tap', { lossy: true }).pollRaw(() => undefined)).toThrow(/lossy/);
  });
});

describe('positions and sequence numbers after a failing handler', () => {
  it('stats count only what was handled, and lag counts the failing event', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 12 });
    const reader = bus.reader<number>('r');
    bus.publishBatch('default', [0, 1, 2, 3]);
    expect(() =>
      reader.pollRaw((rec) => {
        if (rec.seq === 2) throw new Error('boom');
      }),
    ).toThrow('boom');
    const stats = reader.stats();
    expect(stats.consumed).toBe(2);
    expect(stats.lagEvents).toBe(2); // 2 and 3 are still ahead of it
    const seqs: number[] = [];
    reader.pollRaw((rec) => seqs.push(rec.seq));
    expect(seqs).toEqual([2, 3]);
    expect(reader.stats().lagEvents).toBe(0);
  });
});
