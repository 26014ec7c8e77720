// A user's WaitStrategy is trusted to wait, never to decide: a strategy that says "done"
// while the condition does not hold gets a typed error, and the ring stays intact.
import { describe, expect, it } from 'vitest';
import { attach, createBus, InvalidOptionError, type WaitStrategy } from 'ringbus';

/** Returns true once woken or after 5 ms, without asking ready(): a plausible user mistake. */
const naive: WaitStrategy = {
  name: 'block',
  waitSync: (site) => {
    Atomics.wait(site.words, site.futex, Atomics.load(site.words, site.futex), 5);
    return true;
  },
  waitAsync: async () => true,
};

describe('a custom wait strategy that returns true too early', () => {
  it('cannot make publish overwrite committed events: the publish fails with InvalidOptionError', async () => {
    const bus = createBus({ capacity: 4096, topics: ['t'], codec: 'raw' });
    const reader = bus.reader<Uint8Array>('r');
    let n = 0;
    while (bus.tryPublish('t', new Uint8Array(8).fill(1))) n++;
    const other = attach(bus.handle, { wait: naive, codec: 'raw' });
    expect(() => other.publish('t', new Uint8Array(8).fill(0xee), { timeoutMs: 100 })).toThrow(InvalidOptionError);
    await expect(other.publishAsync('t', new Uint8Array(8).fill(0xee), { timeoutMs: 100 })).rejects.toThrow(InvalidOptionError);
    const got: number[][] = [];
    reader.poll((v) => got.push([...v]), n + 1);
    expect(got).toHaveLength(n);
    for (const v of got) expect(v).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('cannot make drain() resolve before the readers caught up', async () => {
    const bus = createBus({ capacity: 4096, topics: ['t'], codec: 'raw', wait: naive });
    bus.reader('slow');
    bus.publish('t', new Uint8Array(8));
    await expect(bus.drain({ timeoutMs: 200 })).rejects.toThrow(InvalidOptionError);
  });

  it("cannot make a reader's wait() or waitAsync() say nothing came (a wait loop would spin): InvalidOptionError", async () => {
    const bus = createBus({ capacity: 4096, topics: ['t'], codec: 'raw' });
    const reader = bus.reader<Uint8Array>('r', { wait: naive });
    expect(() => reader.wait(200)).toThrow(InvalidOptionError);
    await expect(reader.waitAsync(200)).rejects.toThrow(InvalidOptionError);
    bus.publish('t', new Uint8Array(8).fill(3));
    expect(reader.wait(200)).toBe(true); // something to read: true is the truth
    expect(reader.read().map((e) => e.value[0])).toEqual([3]);
    bus.close();
  });
});

describe("a reader's after", () => {
  it('refuses the reader itself', () => {
    const bus = createBus({ capacity: 4096, topics: ['t'], codec: 'raw' });
    bus.reader('a').close();
    expect(() => bus.reader('a', { after: ['a'] })).toThrow(InvalidOptionError);
    expect(() => bus.reader('a', { after: ['a'] })).toThrow(/itself/);
  });

  it('refuses a cycle through the readers open in this thread (they would wait for each other for ever), groups included', () => {
    const bus = createBus({ capacity: 4096, topics: ['t'], codec: 'raw' });
    bus.reader('x').close();
    const y = bus.reader('y', { after: ['x'] });
    const z = bus.reader('z', { after: ['y'] });
    expect(() => bus.reader('x', { after: ['z'] })).toThrow(/cannot come after "z"/);
    bus.reader('m', { group: 'g' }).close();
    const w = bus.reader('w', { after: ['g'] });
    expect(() => bus.reader('m', { group: 'g', after: ['w'] })).toThrow(InvalidOptionError);
    expect(() => bus.reader('m2', { group: 'g', after: ['g'] })).toThrow(/its own group/);
    // a keyed member that followed "a", gone, no longer counts
    const k2 = bus.reader('k2', { group: 'kg', keyed: true });
    bus.reader('w2').close();
    bus.reader('k1', { group: 'kg', keyed: true, after: ['w2'] }).close();
    bus.reader('w2', { after: ['kg'] }).close(); // k1, which came after w2, is closed: no cycle
    k2.close();
    y.close(); // the chain is broken: no cycle now
    const x = bus.reader('x', { after: ['z'] });
    bus.publish('t', new Uint8Array(1));
    expect(x.wait(0)).toBe(false); // waits for z, which waits for y (closed, still gating)
    for (const r of [x, z, w]) r.close();
    bus.close();
  });
});
