// Behaviour at the edges of the API, each from a bug found in review.
import { describe, expect, it } from 'vitest';
import { BusClosedError, createBus, ReaderClosedError } from 'ringbus';

describe('closing and unsubscribing readers', () => {
  it('a for await loop stops at close(), also while it waits', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 12 });
    const reader = bus.reader<number>('r');
    bus.publishBatch('default', [0, 1, 2, 3]);
    const got: number[] = [];
    for await (const { value } of reader) {
      got.push(value);
      if (value === 1) reader.close();
    }
    expect(got).toEqual([0, 1]);
    // the position stays where the loop left it: after 0 (1 was not committed)
    const next: number[] = [];
    bus.reader<number>('r').poll((v) => next.push(v));
    expect(next).toEqual([1, 2, 3]);

    const waiting = bus.reader<number>('w', { start: 'newest' });
    const loop = (async () => {
      for await (const _ of waiting) throw new Error('no event was published');
      return 'ended';
    })();
    setTimeout(() => waiting.close(), 50);
    const limit = new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5_000).unref());
    expect(await Promise.race([loop, limit])).toBe('ended');
  });

  it('a stale Reader cannot unsubscribe the reader that replaced it', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 12 });
    const first = bus.reader('r');
    first.close();
    const second = bus.reader('r');
    expect(() => first.unsubscribe()).toThrow(ReaderClosedError);
    const taken = bus.reader('t');
    const heir = bus.reader('t', { takeover: true });
    expect(() => taken.unsubscribe()).toThrow(ReaderClosedError); // closed by the takeover: the heir's slot stays
    expect(
      bus
        .stats()
        .readers.map((r) => r.name)
        .sort(),
    ).toEqual(['r', 't']);
    second.unsubscribe();
    heir.unsubscribe();
    expect(bus.stats().readers).toEqual([]);
  });
});

describe('what a reader gets and when', () => {
  it('unawaited publishAsync calls copy their raw buffers and keep their order', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 12, codec: 'raw' });
    const reader = bus.reader<Uint8Array>('r');
    const buffer = new Uint8Array(1);
    const sent: Promise<void>[] = [];
    for (let n = 0; n < 3; n++) {
      buffer[0] = n;
      sent.push(bus.publishAsync('default', buffer));
    }
    await Promise.all(sent);
    const got: number[] = [];
    reader.poll((v) => got.push(v[0]));
    expect(got).toEqual([0, 1, 2]);
  });

  it('encode errors of async publishes reject rather than throw', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 12 });
    const pending = bus.publishAsync('default', () => 1);
    await expect(pending).rejects.toThrow(/cannot encode/);
    await expect(bus.publishBatchAsync('default', [Symbol('x')])).rejects.toThrow(/cannot encode/);
  });

  it('msgpack binary fields are copies, not views of the ring', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const reader = bus.reader<{ data: Uint8Array }>('r');
    const kept: Uint8Array[] = [];
    for (let n = 0; n < 200; n++) {
      bus.publish('default', { data: new Uint8Array(16).fill(n & 255) });
      reader.poll(({ data }) => kept.push(data));
    }
    expect(kept.map((d) => d[15])).toEqual(Array.from({ length: 200 }, (_, n) => n & 255));
  });

  it('after: a group member is refused (depend on the group)', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    bus.reader('m', { group: 'g' });
    expect(() => bus.reader('d', { after: ['m'] })).toThrow(/after: \["g"\]/);
    bus.reader('d', { after: ['g'] });
  });

  it('poll(max) accepts Infinity and refuses nonsense', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const reader = bus.reader('r');
    bus.publishBatch('default', [1, 2, 3]);
    expect(reader.poll(() => undefined, Infinity)).toBe(3);
    expect(() => reader.poll(() => undefined, 0)).toThrow(/max must be a whole number/);
  });

  it('a lossy reader whose handler throws counts the rest of its batch as missed', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const tap = bus.reader<number>('tap', { lossy: true });
    bus.publishBatch('default', [0, 1, 2, 3, 4]);
    expect(() =>
      tap.poll((n) => {
        if (n === 1) throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(tap.missed).toBe(3); // 2, 3 and 4: a lossy reader never redelivers
    expect(tap.stats().consumed).toBe(2); // 0, and 1 whose handler threw
  });

  it('take() on a bus that closed too early says so', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    const reader = bus.reader('r');
    bus.publish('default', 1);
    bus.close();
    expect(() => reader.take(2, () => undefined, 1_000)).toThrow(BusClosedError);
    expect(reader.ended).toBe(true);
  });
});

describe('read() and commit()', () => {
  it('padding before an open claim is consumed by read(), not held: the next read() works', () => {
    const bus = createBus({ capacity: 4096, topics: ['t'], codec: 'raw', timeoutMs: 10_000 });
    const r = bus.reader('r');
    for (let i = 0; i < 80; i++) {
      bus.publish('t', new Uint8Array(32));
      r.poll(() => undefined);
    }
    const open = bus.claim('t', 600); // does not fit before the end: padding committed, the record still claimed
    expect(r.read()).toEqual([]);
    expect(r.read()).toEqual([]);
    open.bytes.fill(7);
    open.commit();
    const events = r.read();
    expect(events.map((e) => e.value)).toEqual([new Uint8Array(600).fill(7)]);
    expect(() => r.read()).toThrow(/commit\(\) the events read/);
    r.commit();
    expect(r.read()).toEqual([]);
  });

  it('a takeover in the thread that has the reader open closes the old object: every event is delivered once, by the heir', async () => {
    const bus = createBus({ topics: ['t'], timeoutMs: 10_000 });
    const old = bus.reader<number>('r');
    const loop = (async () => {
      for await (const _ of old) return 'delivered to the old object';
      return 'ended';
    })();
    const heir = bus.reader<number>('r', { takeover: true });
    const keyedOld = bus.reader<number>('k', { group: 'kg', keyed: true });
    const keyedHeir = bus.reader<number>('k', { group: 'kg', keyed: true, takeover: true });
    bus.publishBatch('t', [1, 2, 3]);
    expect(() => old.poll(() => undefined)).toThrow(ReaderClosedError);
    expect(() => keyedOld.poll(() => undefined)).toThrow(ReaderClosedError);
    const limit = new Promise((resolve) => setTimeout(() => resolve('still waiting after 5 s'), 5_000).unref());
    expect(await Promise.race([loop, limit])).toBe('ended');
    const got: number[] = [];
    heir.poll((v) => got.push(v));
    keyedHeir.poll((v) => got.push(v));
    expect(got).toEqual([1, 2, 3, 1, 2, 3]);
    old.close(); // a no-op: the slot is the heir's
    heir.poll(() => undefined);
    bus.publish('t', 4);
    expect(heir.read().map((e) => e.value)).toEqual([4]);
    bus.close();
  });

  it("a takeover from inside the old object's own poll loses nothing: the old poll commits nothing, the heir gets every event from the last commit", () => {
    for (const options of [{}, { group: 'g' }, { group: 'kg', keyed: true }] as const) {
      const bus = createBus({ topics: ['t'], timeoutMs: 10_000 });
      const name = 'group' in options ? `m-${options.group}` : 'a';
      const old = bus.reader<number>(name, options);
      bus.publishBatch(
        't',
        Array.from({ length: 20 }, (_, i) => i),
      );
      const got: number[] = [];
      let heir: ReturnType<typeof bus.reader<number>> | undefined;
      old.poll((v) => {
        got.push(v);
        if (v === 2) heir = bus.reader<number>(name, { ...options, takeover: true });
      }, 100);
      heir!.poll((v) => got.push(v), 100);
      const missing = Array.from({ length: 20 }, (_, i) => i).filter((i) => !got.includes(i));
      expect(missing, JSON.stringify(options)).toEqual([]);
      expect(got.slice(-20), JSON.stringify(options)).toEqual(Array.from({ length: 20 }, (_, i) => i)); // the heir: all, from the last commit
      bus.close();
    }
  });

  it('a batch read() and not committed is delivered again to a reader that takes over; for await refuses a held batch', async () => {
    const bus = createBus({ topics: ['t'], timeoutMs: 10_000 });
    const first = bus.reader('r');
    bus.publishBatch('t', [1, 2, 3, 4]);
    expect(first.read(3).map((e) => e.value)).toEqual([1, 2, 3]);
    await expect(first[Symbol.asyncIterator]().next()).rejects.toThrow(/commit\(\)/);
    const second = bus.reader<number>('r', { takeover: true });
    expect(second.read().map((e) => e.value)).toEqual([1, 2, 3, 4]);
    second.commit();
    expect(second.read()).toEqual([]);
  });
});
