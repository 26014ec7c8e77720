import { Piscina } from 'piscina';
import { describe, expect, it } from 'vitest';
import { createBus } from 'ringbus';
import { start, workerUrl } from './harness.js';

describe('the handle travels to every kind of worker', () => {
  it("piscina workers attach from the pool's workerData", async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 14, topics: ['jobs'] });
    const reader = bus.reader<{ n: number }>('collector');
    const pool = new Piscina({ filename: workerUrl('piscina-task').href, workerData: { handle: bus.handle }, minThreads: 2, maxThreads: 2 });
    try {
      const tasks = [0, 1, 2, 3].map((i) => pool.run({ from: i * 1_000, to: (i + 1) * 1_000 }));
      const seen = new Set<number>();
      const deadline = Date.now() + 20_000;
      while (seen.size < 4_000 && Date.now() < deadline) {
        reader.poll(({ n }) => {
          expect(seen.has(n)).toBe(false);
          seen.add(n);
        });
        await reader.waitAsync(100);
      }
      expect((await Promise.all(tasks)).reduce((a, b) => a + b)).toBe(4_000);
      expect(seen.size).toBe(4_000);
    } finally {
      await pool.destroy();
    }
  });

  it('a worker attaches from a handle sent over postMessage', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 14, topics: ['jobs'] });
    const reader = bus.reader<{ n: number; via: string }>('collector');
    const worker = start('attach-later', undefined, 20_000);
    worker.worker.postMessage(bus.handle);
    await worker.result;
    const got: number[] = [];
    reader.take(
      100,
      ({ n, via }) => {
        expect(via).toBe('postMessage');
        got.push(n);
      },
      5_000,
    );
    expect(got).toEqual(Array.from({ length: 100 }, (_, n) => n));
  });
});

describe('drain and stats', () => {
  it('drain() resolves only once a slow reader in a worker consumed everything published before it', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 16, topics: ['t'], codec: 'raw' });
    bus.reader('slow').close();
    const slow = start('reader', {
      handle: bus.handle,
      name: 'slow',
      options: {},
      producers: 1,
      perProducer: 2_000,
      maxExtra: 16,
      checkOrder: true,
      workMicros: 200,
      timeoutMs: 20_000,
    });
    await slow.message('ready');
    const { make } = await import('./workers/payload.js');
    for (let seq = 0; seq < 2_000; seq++) bus.publish('t', make(0, seq, 16), { timeoutMs: 20_000 });
    const before = bus.stats().readers.find((r) => r.name === 'slow')!;
    expect(before.lagEvents).toBeGreaterThan(0);
    await bus.drain({ timeoutMs: 20_000 });
    const after = bus.stats();
    const slowStats = after.readers.find((r) => r.name === 'slow')!;
    expect(slowStats.consumed).toBe(2_000); // every event published before drain() was consumed
    expect(slowStats.lagBytes).toBe(0);
    expect(slowStats.lagEvents).toBe(0);
    expect(after.published).toBe(2_000);
    bus.close();
    const r = await slow.result;
    expect(r.errors).toEqual([]);
    expect(r.received).toBe(2_000);
  });

  it('json and msgpack values round-trip, and a reader can read both', () => {
    const value = { id: 7, name: 'naïve ✓', tags: ['a', 'b'], nested: { ok: true, n: null } };
    const msgpack = createBus({ timeoutMs: 10_000, capacity: 1 << 14, topics: ['t'] });
    const reader = msgpack.reader('r');
    msgpack.publish('t', value);
    const got: unknown[] = [];
    reader.poll((v) => got.push(v));
    expect(got).toEqual([value]);
    const json = createBus({ timeoutMs: 10_000, capacity: 1 << 14, topics: ['t'], codec: 'json' });
    const jr = json.reader('r');
    json.publish('t', value);
    jr.poll((v) => got.push(v));
    expect(got).toEqual([value, value]);
  });
});
