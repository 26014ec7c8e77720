// A consumer group lives as long as it has members: when the last member unsubscribes the
// group is forgotten (it stops gating, its slot is free); a member that only closes keeps
// its place, and the group's position, for a member opened later.
import { describe, expect, it } from 'vitest';
import { createBus, InvalidOptionError, TooManyReadersError } from 'ringbus';
import { start } from './harness.js';

const MAX_EXTRA = 40;

describe('consumer groups whose members leave', () => {
  it('groups opened and left one after another never run out of slots', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, maxReaders: 4 });
    for (let g = 0; g < 12; g++) {
      const member = bus.reader<number>(`m${g}`, { group: `g${g}`, start: 'newest' });
      bus.publish('default', g);
      const got: number[] = [];
      member.poll((v) => got.push(v));
      expect(got).toEqual([g]);
      member.unsubscribe(); // before the fix: TooManyReadersError at g = 3 (each group kept a slot)
      expect(bus.stats().readers).toEqual([]);
    }
    // all four slots are free
    for (let r = 0; r < 4; r++) bus.reader(`r${r}`);
    expect(() => bus.reader('r4')).toThrow(TooManyReadersError);
  });

  it('the group goes with its last member: it stops gating, and a new group of that name starts afresh', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const a = bus.reader<number>('a', { group: 'g' });
    const b = bus.reader<number>('b', { group: 'g' });
    let n = 0;
    while (bus.tryPublish('default', n)) n++;
    expect(n).toBeGreaterThan(10); // full: the group gates
    a.unsubscribe();
    expect(bus.tryPublish('default', n)).toBe(false); // b still belongs to the group
    expect(
      bus
        .stats()
        .readers.map((r) => r.name)
        .sort(),
    ).toEqual(['b', 'g']);
    b.unsubscribe();
    expect(bus.stats().readers).toEqual([]);
    for (let i = 0; i < 1000; i++) expect(bus.tryPublish('default', n + i)).toBe(true); // nobody gates
    // a group opened later under the same name does not inherit the old position
    const c = bus.reader<number>('c', { group: 'g', start: 'newest' });
    bus.publish('default', -1);
    const got: number[] = [];
    c.poll((v) => got.push(v));
    expect(got).toEqual([-1]);
  });

  it("members that would take other topics than their group's are refused: events only another member takes would be skipped for good", () => {
    const shop = createBus({ capacity: 1 << 16, timeoutMs: 0, topics: ['orders', 'refunds'] });
    const all = shop.reader('all', { group: 'shop' });
    const same = shop.reader('same', { group: 'shop', topics: ['refunds', 'orders'] }); // every topic, as the group
    const fewer = (() => {
      try {
        shop.reader('fewer', { group: 'shop', topics: ['orders'] });
      } catch (error) {
        return error as Error;
      }
    })();
    expect(fewer).toBeInstanceOf(InvalidOptionError);
    expect(fewer?.message).toMatch(/member "fewer" takes other topics than the members of group "shop".*same topics option, or a group per set of topics/);
    expect(() => shop.reader('same', { group: 'shop', topics: ['orders'], takeover: true })).toThrow(InvalidOptionError);
    expect(shop.stats().readers.map((r) => r.name)).not.toContain('fewer'); // refused before it took a slot
    for (let i = 0; i < 100; i++) shop.publish(i % 2 ? 'orders' : 'refunds', i);
    const seen: number[] = [];
    for (let round = 0; round < 10; round++) for (const m of [all, same]) m.poll((v) => seen.push(v as number), 7);
    expect(seen.sort((x, y) => x - y)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    // The only member may open again with other topics; a group whose members all left starts afresh.
    same.unsubscribe();
    all.close();
    const narrower = shop.reader('all', { group: 'shop', topics: ['orders'] });
    expect(() => shop.reader('wide', { group: 'shop' })).toThrow(InvalidOptionError);
    narrower.unsubscribe();
    const wide = shop.reader('wide', { group: 'shop' });
    wide.unsubscribe();
    shop.close();
  });

  it('a member that only closes keeps the group and its position; the group gates meanwhile', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const a = bus.reader<number>('a', { group: 'g' });
    for (let i = 0; i < 10; i++) bus.publish('default', i);
    const first: number[] = [];
    a.poll((v) => first.push(v), 4);
    a.close();
    let n = 10;
    while (bus.tryPublish('default', n)) n++;
    expect(bus.tryPublish('default', n)).toBe(false); // still gated by the group
    expect(
      bus
        .stats()
        .readers.map((r) => r.name)
        .sort(),
    ).toEqual(['a', 'g']);
    const again = bus.reader<number>('a', { group: 'g' });
    const rest: number[] = [];
    again.poll((v) => rest.push(v), 1 << 20);
    expect([...first, ...rest]).toEqual(Array.from({ length: n }, (_, i) => i));
    again.unsubscribe();
    expect(bus.stats().readers).toEqual([]);
  });

  it('producers in a worker go on after the last member, in a worker, unsubscribes', async () => {
    const read = 2_000; // half a ring-full at least: the member reads while the producer waits for it
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'] });
    bus.reader('m', { group: 'g' }).close(); // the group exists before the producers start
    const member = start('reader', {
      handle: bus.handle,
      name: 'm',
      options: { group: 'g' },
      producers: 1,
      perProducer: read,
      maxExtra: MAX_EXTRA,
      stopAfter: read,
      checkOrder: true,
      timeoutMs: 20_000,
      leave: 'unsubscribe',
    });
    const exited = new Promise((resolve) => member.worker.once('exit', resolve));
    await member.message('ready');
    const first = start('producer', { handle: bus.handle, topic: 't', producer: 0, count: read, maxExtra: MAX_EXTRA, batchMax: 8, timeoutMs: 10_000 });
    const m = await member.result;
    await first.result;
    expect(m.errors).toEqual([]);
    expect(m.received).toBe(read);
    expect(Array.from(m.counts as Uint8Array).every((c) => c === 1)).toBe(true); // each event exactly once
    await exited; // it unsubscribed after its result: the group had no member left
    expect(bus.stats().readers).toEqual([]);
    // many ring-fulls with nobody reading: before the fix, a TimeoutError after 3 s
    const second = start('producer', { handle: bus.handle, topic: 't', producer: 1, count: 20_000, maxExtra: MAX_EXTRA, batchMax: 8, timeoutMs: 3_000 });
    await second.result;
  });

  it('producers in a worker wait for a group whose member, in a worker, only closed, until a new member reads on', async () => {
    const read = 2_000;
    const count = read + 20_000;
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'], codec: 'raw' });
    bus.reader('m', { group: 'g' }).close();
    const member = start('reader', {
      handle: bus.handle,
      name: 'm',
      options: { group: 'g' },
      producers: 1,
      perProducer: count,
      maxExtra: MAX_EXTRA,
      stopAfter: read,
      checkOrder: true,
      timeoutMs: 20_000,
      leave: 'close',
    });
    const exited = new Promise((resolve) => member.worker.once('exit', resolve));
    await member.message('ready');
    const producer = start('producer', { handle: bus.handle, topic: 't', producer: 0, count, maxExtra: MAX_EXTRA, batchMax: 8, timeoutMs: 20_000 });
    const m = await member.result;
    expect(m.errors).toEqual([]);
    expect(m.received).toBe(read);
    await exited;
    const published = bus.stats().published;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(bus.stats().published).toBe(published); // the group still gates: the producer waits
    expect(published).toBeLessThan(count);
    // a member opened under the closed one's name resumes the batch it may have left half read
    const heir = bus.reader<Uint8Array>('m', { group: 'g' });
    const got: number[] = [];
    heir.take(count - read, (v) => got.push(new DataView(v.buffer, v.byteOffset).getUint32(4)), 20_000);
    await producer.result;
    expect(got).toEqual(Array.from({ length: count - read }, (_, i) => read + i)); // exactly the rest, in order
  });
});
