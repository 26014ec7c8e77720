// One call reads a reader at a time, and a closed reader refuses every reading call.
import { describe, expect, it } from 'vitest';
import { attach, createBus, ReaderClosedError, ReentrantReadError, type Reader, TimeoutError } from 'ringbus';

type Outer = 'poll' | 'pollRaw' | 'take' | 'for await';
type Inner = 'poll' | 'pollRaw' | 'read' | 'take' | 'wait' | 'waitAsync' | 'for await';

/** Reads every event with `outer`, calling `inner` on the same reader while the first is delivered. */
async function readWithInner(reader: Reader<number>, outer: Outer, inner: Inner, count: number): Promise<{ seen: number[]; refused: unknown }> {
  const seen: number[] = [];
  let refused: unknown = 'not refused';
  const attempt = (): void => {
    try {
      const result: unknown =
        inner === 'poll'
          ? reader.poll(() => undefined)
          : inner === 'pollRaw'
            ? reader.pollRaw(() => undefined)
            : inner === 'read'
              ? reader.read()
              : inner === 'take'
                ? reader.take(1, () => undefined, 100)
                : inner === 'wait'
                  ? reader.wait(10)
                  : inner === 'waitAsync'
                    ? reader.waitAsync(10)
                    : reader[Symbol.asyncIterator]().next();
      if (result instanceof Promise)
        refused = result.then(
          () => 'not refused',
          (e: unknown) => e,
        );
    } catch (error) {
      refused = error;
    }
  };
  const handle = (value: number): void => {
    if (seen.length === 0) attempt();
    seen.push(value);
  };
  if (outer === 'for await') {
    for await (const { value } of reader) {
      handle(value);
      if (seen.length === count) break;
    }
  } else if (outer === 'take') {
    reader.take(count, handle, 5_000);
  } else if (outer === 'pollRaw') {
    reader.pollRaw((record) => handle(record.bytes[record.offset]));
  } else {
    reader.poll(handle);
  }
  return { seen, refused: await refused };
}

describe('a reader refuses to be read from inside its own delivery', () => {
  const outers: Outer[] = ['poll', 'pollRaw', 'take', 'for await'];
  const inners: Inner[] = ['poll', 'pollRaw', 'read', 'take', 'wait', 'waitAsync', 'for await'];
  for (const outer of outers) {
    it(`inside ${outer}: every reading call throws ReentrantReadError, and each event comes out once`, async () => {
      for (const inner of inners) {
        const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 12, codec: outer === 'pollRaw' ? 'raw' : 'msgpack' });
        const reader = bus.reader<number>('r');
        for (let n = 1; n <= 3; n++) bus.publish('default', outer === 'pollRaw' ? new Uint8Array([n]) : n);
        bus.close(); // a loop that lost events to an inner call ends instead of waiting for them
        const { seen, refused } = await readWithInner(reader, outer, inner, 3);
        expect({ inner, refused }).toEqual({ inner, refused: expect.any(ReentrantReadError) });
        expect((refused as ReentrantReadError).code).toBe('ERR_RINGBUS_REENTRANT');
        expect((refused as Error).message).toMatch(outer === 'for await' ? /leave the loop first/ : /return from the handler first/);
        expect({ inner, seen }).toEqual({ inner, seen: [1, 2, 3] }); // before the fix: 1, 1, 2, 2, ...
        // the outer call is over: the reader reads again, and has nothing left (3 is
        // delivered again only after a for await's break, which leaves it uncommitted)
        const after: number[] = [];
        reader.poll((v) => after.push(v as number));
        expect({ inner, after }).toEqual({ inner, after: outer === 'for await' ? [3] : [] });
      }
    });
  }

  it('a handler that lets the refusal escape fails its event, which comes again once', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 12 });
    const reader = bus.reader<number>('r');
    bus.publishBatch('default', [1, 2]);
    const seen: number[] = [];
    expect(() =>
      reader.poll((v) => {
        seen.push(v);
        reader.poll(() => undefined);
      }),
    ).toThrow(ReentrantReadError);
    reader.poll((v) => seen.push(v));
    expect(seen).toEqual([1, 1, 2]);
  });

  it('drain() from outside a for await loop busy in its body resolves once the loop goes on; awaited in the body, it times out naming the reader', async () => {
    const bus = createBus({ timeoutMs: 30_000, capacity: 1 << 12 });
    const twin = attach(bus.handle); // another Bus object on the same ring, in this thread
    const reader = bus.reader<number>('r');
    bus.publishBatch('default', [1, 2, 3]);
    // A consumer task whose body awaits something slow; drain() from another task waits for it.
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    const seen: number[] = [];
    const consumer = (async () => {
      for await (const { value } of reader) {
        seen.push(value);
        if (value === 1) await slow;
      }
    })();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(seen).toEqual([1]);
    const drained = bus.drain({ timeoutMs: 5_000 });
    setTimeout(release, 50);
    await drained; // the loop committed 3 when it asked for the next event
    expect(seen).toEqual([1, 2, 3]);
    reader.close(); // ends the loop, asleep waiting for more
    await consumer;
    // Awaited inside the loop's body, drain() waits for the loop's own event.
    const again = bus.reader<number>('r'); // resumes after 3
    bus.publish('default', 4);
    const member = bus.reader<number>('m', { group: 'g', start: 'newest' });
    bus.publish('default', 5);
    again.poll(() => undefined, 1); // takes 4; it holds 5 in the loop below
    for (const looped of [again, member]) {
      for await (const { value } of looped) {
        expect(value).toBe(5);
        const late = await twin.drain({ timeoutMs: 100 }).catch((error) => error);
        expect(late).toBeInstanceOf(TimeoutError);
        expect(late.message).toMatch(
          new RegExp(
            `drain\\(\\) did not complete within \\d+ ms: .*reader "${looped.name}" of this thread holds an event from before the call in a for await loop: if this drain\\(\\) was awaited in that loop's body, it waited for itself`,
          ),
        );
        break; // leaves event 5 uncommitted
      }
      expect(looped.poll(() => undefined)).toBe(1);
    }
    await bus.drain({ timeoutMs: 5_000 });
    // A reader that does not read: the timeout names it, and no loop.
    const lazy = bus.reader<number>('lazy', { start: 'newest' });
    bus.publish('default', 6);
    again.poll(() => undefined);
    member.poll(() => undefined);
    const stuck = await bus.drain({ timeoutMs: 100 }).catch((error) => error);
    expect(stuck).toBeInstanceOf(TimeoutError);
    expect(stuck.message).toMatch(/^drain\(\) did not complete within \d+ ms: reader "lazy" is furthest behind \(1 event\)$/); // ms: from the call's deadline, which a slow machine may round down
    lazy.poll(() => undefined);
    await bus.drain({ timeoutMs: 5_000 });
    twin.close();
    bus.close();
  });

  it('group members and lossy readers refuse it too', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 12 });
    const member = bus.reader<number>('m', { group: 'g' });
    const tap = bus.reader<number>('tap', { lossy: true });
    bus.publishBatch('default', [1, 2, 3]);
    for (const reader of [member, tap]) {
      const seen: number[] = [];
      const errors: unknown[] = [];
      reader.poll((v) => {
        seen.push(v);
        try {
          reader.poll((w) => seen.push(w));
        } catch (error) {
          errors.push(error);
        }
      });
      expect(seen).toEqual([1, 2, 3]);
      expect(errors).toEqual([expect.any(ReentrantReadError), expect.any(ReentrantReadError), expect.any(ReentrantReadError)]);
    }
  });

  it('two for await loops over one reader: the second is refused; after the first ends, reading works', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 12 });
    const reader = bus.reader<number>('r');
    bus.publishBatch('default', [1, 2, 3]);
    const first = reader[Symbol.asyncIterator]();
    expect((await first.next()).value?.value).toBe(1);
    await expect(reader[Symbol.asyncIterator]().next()).rejects.toThrow(ReentrantReadError);
    // an outside poll or waitAsync while the loop is under way is refused as well
    expect(() => reader.poll(() => undefined)).toThrow(ReentrantReadError);
    await expect(reader.waitAsync(10)).rejects.toThrow(ReentrantReadError);
    await first.return(undefined); // what break does
    const rest: number[] = [];
    reader.poll((v) => rest.push(v));
    expect(rest).toEqual([1, 2, 3]); // 1 was never committed: the loop left before asking for 2
  });

  it('a handler that closes its reader stops the poll; what it handled stays committed for the next opener', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 12 });
    const reader = bus.reader<number>('r');
    bus.publishBatch('default', [1, 2, 3, 4]);
    const seen: number[] = [];
    const delivered = reader.poll((v) => {
      seen.push(v);
      if (v === 2) reader.close();
    });
    expect(delivered).toBe(2);
    expect(seen).toEqual([1, 2]);
    const rest: number[] = [];
    bus.reader<number>('r').poll((v) => rest.push(v));
    expect(rest).toEqual([3, 4]);
  });

  it('a handler that unsubscribes its reader frees the slot once the poll returns', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, maxReaders: 1 });
    const reader = bus.reader<number>('r');
    bus.publishBatch('default', [1, 2, 3]);
    const seen: number[] = [];
    reader.poll((v) => {
      seen.push(v);
      reader.unsubscribe();
    });
    expect(seen).toEqual([1]);
    expect(bus.stats().readers).toEqual([]);
    // nothing gates the producers any more: many ring-fulls go through without waiting
    for (let n = 0; n < 1000; n++) expect(bus.tryPublish('default', n)).toBe(true);
    expect(bus.reader('other').stats().name).toBe('other'); // the one slot is free
  });
});

describe('a closed reader', () => {
  const calls: Record<string, (r: Reader) => unknown> = {
    poll: (r) => r.poll(() => undefined),
    pollRaw: (r) => r.pollRaw(() => undefined),
    read: (r) => r.read(),
    commit: (r) => r.commit(),
    take: (r) => r.take(1, () => undefined, 10),
    wait: (r) => r.wait(10),
    waitAsync: (r) => r.waitAsync(10),
    'for await': (r) => r[Symbol.asyncIterator]().next(),
    unsubscribe: (r) => r.unsubscribe(),
  };

  for (const how of ['close', 'unsubscribe'] as const) {
    it(`after ${how}(), every reading call throws ReaderClosedError (async ones reject)`, async () => {
      const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
      bus.publish('default', 1);
      for (const [name, call] of Object.entries(calls)) {
        const reader = bus.reader(`r-${name}`);
        reader[how]();
        let outcome: unknown;
        try {
          outcome = await call(reader);
        } catch (error) {
          outcome = error;
        }
        expect({ name, outcome }).toEqual({ name, outcome: expect.any(ReaderClosedError) });
      }
      // the calls changed nothing: reopened, the reader still has the event to read
      const seen: unknown[] = [];
      bus.reader('r-poll').poll((v) => seen.push(v));
      expect(seen).toEqual([1]);
    });
  }

  it('a wait under way when its reader is closed or unsubscribed resolves to false', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096 });
    for (const how of ['close', 'unsubscribe'] as const) {
      const reader = bus.reader(`w-${how}`, { wait: 'async' });
      const started = performance.now();
      const waiting = reader.waitAsync(5_000);
      setTimeout(() => reader[how](), 20);
      expect(await waiting).toBe(false);
      expect(performance.now() - started).toBeLessThan(2_000);
    }
  });
});

describe('for await over a backlog', () => {
  for (const lossy of [false, true]) {
    it(`leaves its thread's event loop turns: timers fire while it drains (${lossy ? 'lossy' : 'gating'} reader)`, async () => {
      const bus = createBus({ capacity: 1 << 24, topics: ['t'], codec: 'raw' });
      const reader = bus.reader<Uint8Array>('r', { lossy });
      const total = 300_000;
      const chunk = Array.from({ length: 1_000 }, () => new Uint8Array(8));
      for (let i = 0; i < total; i += chunk.length) bus.publishBatch('t', chunk);
      bus.close();
      let read = 0;
      const firedAt: number[] = [];
      const timer = setInterval(() => firedAt.push(read), 2);
      const started = performance.now();
      for await (const _ of reader) {
        read++;
        if (performance.now() - started > 20 && firedAt.length >= 3) break; // proven: no need to drain it all
      }
      clearInterval(timer);
      expect(firedAt.length).toBeGreaterThanOrEqual(3);
      expect(firedAt[0]).toBeLessThan(total); // the first timer fired before the backlog was gone
    });
  }
});
