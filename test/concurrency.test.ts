import { describe, expect, it } from 'vitest';
import { createBus } from 'ringbus';
import { start } from './harness.js';

const PRODUCERS = 4;
const PER_PRODUCER = 250_000;
const TOTAL = PRODUCERS * PER_PRODUCER;
const MAX_EXTRA = 200;
const CAPACITY = 1 << 16;

describe('many producers, gating readers and a consumer group', () => {
  it('delivers 1,000,000 events exactly once to every reader and once across the group', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: CAPACITY, topics: ['t'] });
    // Open every reader before any producer starts, so that all of them start at event 0;
    // the workers then open the same names and resume from there.
    const readers = ['audit', 'index', 'archive'];
    for (const name of readers) bus.reader(name).close();
    for (const member of ['w0', 'w1']) bus.reader(member, { group: 'workers' }).close();

    const common = { handle: bus.handle, producers: PRODUCERS, perProducer: PER_PRODUCER, maxExtra: MAX_EXTRA, timeoutMs: 40_000 };
    const gating = readers.map((name) => start('reader', { ...common, name, options: {}, stopAfter: TOTAL, checkOrder: true }, 45_000));
    const members = ['w0', 'w1'].map((name) => start('reader', { ...common, name, options: { group: 'workers' }, checkOrder: false }, 45_000));
    const producers = Array.from({ length: PRODUCERS }, (_, producer) =>
      start('producer', { handle: bus.handle, topic: 't', producer, count: PER_PRODUCER, maxExtra: MAX_EXTRA, batchMax: 16, timeoutMs: 40_000 }, 45_000),
    );

    for (const p of await Promise.all(producers.map((p) => p.result))) expect(p.published).toBe(PER_PRODUCER);
    bus.close();
    const results = await Promise.all(gating.map((r) => r.result));
    const groupResults = await Promise.all(members.map((r) => r.result));

    const stats = bus.stats();
    expect(stats.tail / CAPACITY).toBeGreaterThan(100); // the ring wrapped at least 100 times
    expect(stats.published).toBe(TOTAL);
    expect(stats.revoked).toBe(0);

    for (const r of results) {
      expect(r.errors).toEqual([]);
      expect(r.received).toBe(TOTAL);
      expect(r.last).toEqual(Array(PRODUCERS).fill(PER_PRODUCER - 1));
      expect(r.counts.every((c: number) => c === 1)).toBe(true);
    }

    for (const r of groupResults) expect(r.errors).toEqual([]);
    const [a, b] = groupResults.map((r) => r.counts as Uint8Array);
    let wrong = 0;
    for (let i = 0; i < TOTAL; i++) if (a[i] + b[i] !== 1) wrong++;
    expect(wrong).toBe(0);
    expect(groupResults[0].received + groupResults[1].received).toBe(TOTAL);
    // both members did part of the work
    expect(groupResults[0].received).toBeGreaterThan(0);
    expect(groupResults[1].received).toBeGreaterThan(0);
  });
});
