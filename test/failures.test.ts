import { describe, expect, it } from 'vitest';
import { createBus, TimeoutError } from 'ringbus';
import { start } from './harness.js';
import { make } from './workers/payload.js';

const MAX_EXTRA = 60;

describe('a producer that dies between claim and commit', () => {
  it('is revoked once its death is known; the others go on and nothing committed is lost', async () => {
    const perProducer = 50_000;
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 13, topics: ['t'] });
    bus.reader('r0').close();
    bus.reader('r1').close();
    for (const m of ['m0', 'm1']) bus.reader(m, { group: 'g' }).close();

    const common = { handle: bus.handle, producers: 3, perProducer, maxExtra: MAX_EXTRA, timeoutMs: 20_000 };
    const readers = ['r0', 'r1'].map((name) => start('reader', { ...common, name, stopAfter: 2 * perProducer + 1_000, checkOrder: true }));
    const members = ['m0', 'm1'].map((name) => start('reader', { ...common, name, options: { group: 'g' }, checkOrder: false }));
    // Producer 2 publishes 1,000 events, claims, writes half and hangs until we kill it.
    const doomed = start('producer', {
      handle: bus.handle,
      topic: 't',
      producer: 2,
      count: 1_000,
      maxExtra: MAX_EXTRA,
      batchMax: 4,
      timeoutMs: 20_000,
      hangInClaim: true,
    });
    await doomed.message('claimed', 20_000);
    const killedAt = performance.now();
    await doomed.worker.terminate();
    const producers = [0, 1].map((producer) =>
      start('producer', { handle: bus.handle, topic: 't', producer, count: perProducer, maxExtra: MAX_EXTRA, batchMax: 8, timeoutMs: 20_000 }),
    );
    await Promise.all(producers.map((p) => p.result));
    const results = await Promise.all(readers.map((r) => r.result));
    const elapsed = performance.now() - killedAt;
    bus.close();
    const groupResults = await Promise.all(members.map((m) => m.result));

    expect(bus.stats().revoked).toBe(1);
    for (const r of results) {
      expect(r.errors).toEqual([]);
      expect(r.received).toBe(2 * perProducer + 1_000);
      expect(r.last).toEqual([perProducer - 1, perProducer - 1, 999]);
    }
    const counts = groupResults.map((r) => r.counts as Uint8Array);
    const wrongs = [0, 1, 2].map((producer) => {
      const n = producer === 2 ? 1_000 : perProducer;
      let wrong = 0;
      for (let seq = 0; seq < n; seq++) if (counts[0][producer * perProducer + seq] + counts[1][producer * perProducer + seq] !== 1) wrong++;
      return wrong;
    });
    expect(wrongs).toEqual([0, 0, 0]);
    // bounded: the time to move the events; the producers' own timeout (10 s in the test
    // workers) must not be what rescued them
    expect(elapsed).toBeLessThan(8_000);
  });
});

describe('a dead claim in a ring that never fills', () => {
  it('is revoked when its thread dies, and the reader stuck behind it goes on', async () => {
    // A 1 MiB ring: no producer ever waits on it.
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 20, topics: ['t'], codec: 'raw' });
    const reader = bus.reader<Uint8Array>('r');
    const doomed = start('producer', {
      handle: bus.handle,
      topic: 't',
      producer: 1,
      count: 10,
      maxExtra: 0,
      batchMax: 1,
      timeoutMs: 10_000,
      hangInClaim: true,
    });
    await doomed.message('claimed', 10_000);
    await doomed.worker.terminate();
    for (let i = 0; i < 100; i++) bus.publish('t', new Uint8Array([i]), { timeoutMs: 1_000 });
    const started = performance.now();
    const got: number[] = [];
    reader.take(110, (v) => got.push(v.length === 1 ? v[0] : -1), 10_000);
    // without the revocation take() would time out
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(got.filter((v) => v >= 0)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(bus.stats().revoked).toBe(1);
  });
});

describe('a producer that dies inside a claim with no reader', () => {
  it('is revoked and no longer holds producers back; the ring never laps an open claim', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'], codec: 'raw' });
    const doomed = start('producer', { handle: bus.handle, topic: 't', producer: 1, count: 3, maxExtra: 0, batchMax: 1, timeoutMs: 10_000, hangInClaim: true });
    await doomed.message('claimed', 10_000);
    await doomed.worker.terminate();
    // Ten laps of the ring, past where the dead claim was.
    for (let seq = 0; seq < 1_000; seq++) bus.publish('t', make(0, seq, MAX_EXTRA), { timeoutMs: 5_000 });
    expect(bus.stats().revoked).toBe(1);
    // A reader joining now finds the newest events intact.
    const reader = bus.reader<Uint8Array>('late', { start: 'oldest' });
    const seqs: number[] = [];
    reader.poll((bytes) => seqs.push(new DataView(bytes.buffer, bytes.byteOffset).getUint32(4)), 10_000);
    expect(seqs.length).toBeGreaterThan(10);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => 1_000 - seqs.length + i));
  });
});

describe('backpressure', () => {
  it('holds producers back behind a stalled gating reader and overwrites nothing', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'], codec: 'raw' });
    const stalled = bus.reader<Uint8Array>('stalled');
    let fitted = 0;
    while (bus.tryPublish('t', make(0, fitted, MAX_EXTRA))) fitted++;
    // then the smallest record a producer here makes (8 bytes), so that none fits at all
    while (bus.tryPublish('t', make(0, fitted, 0))) fitted++;
    expect(fitted).toBeGreaterThan(10);
    expect(bus.tryPublish('t', make(0, fitted, 0))).toBe(false);
    expect(() => bus.publish('t', make(0, fitted, MAX_EXTRA), { timeoutMs: 50 })).toThrow(TimeoutError);
    expect(bus.stats().published).toBe(fitted);

    // A worker publishes 2,000 more with blocking publish: it must wait for the reader.
    const blocked = start('producer', { handle: bus.handle, topic: 't', producer: 1, count: 2_000, maxExtra: MAX_EXTRA, batchMax: 1, timeoutMs: 20_000 });
    let finished = false;
    void blocked.result.then(() => (finished = true));
    // wait until the worker is provably blocked: it has spent time waiting for space
    const blockedBy = performance.now() + 20_000;
    while (bus.stats().producerWaitMs === 0 && performance.now() < blockedBy) await new Promise((resolve) => setTimeout(resolve, 10));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(bus.stats().producerWaitMs).toBeGreaterThan(0);
    expect(finished).toBe(false);
    expect(bus.stats().published).toBe(fitted); // not one record more while the reader stalls

    // The reader moves: everything arrives, in order, intact; the producer finishes.
    const seen = [0, 0];
    const errors: string[] = [];
    const deadline = performance.now() + 20_000;
    while (seen[0] + seen[1] < fitted + 2_000 && performance.now() < deadline) {
      stalled.poll((bytes) => {
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const producer = view.getUint32(0);
        const seq = view.getUint32(4);
        if (seq !== seen[producer]) errors.push(`producer ${producer}: ${seq} after ${seen[producer] - 1}`);
        seen[producer]++;
      });
      await new Promise((resolve) => setImmediate(resolve));
    }
    expect(errors).toEqual([]);
    expect(seen).toEqual([fitted, 2_000]);
    expect((await blocked.result).published).toBe(2_000);
    // and try… publishing succeeds again
    expect(bus.tryPublish('t', make(0, 0, MAX_EXTRA))).toBe(true);
  });
});
