// AbortSignal on every call that waits: an abort rejects the call with the signal's reason
// (an AbortError when none was given), at once while it waits, and nothing it did not
// publish is published; across real worker threads.
import { afterEach, describe, expect, it } from 'vitest';
import { BatchAbortedError, type Bus, createBus, InvalidOptionError } from 'ringbus';
import { start } from './harness.js';

let bus: Bus | undefined;
afterEach(() => {
  bus?.close();
  bus = undefined;
});

/** A bus whose ring is full behind the gating reader 'r' (reserved, not reading); returns how many events fill it. */
function fullBus(): [Bus, number] {
  const b = createBus({ capacity: 4096, topics: ['t'] });
  b.reader('r').close();
  let n = 0;
  while (b.tryPublish('t', n)) n++;
  return [b, n];
}

const settled = async (p: Promise<unknown>) =>
  p.then(
    (v) => ({ ok: v }),
    (e: unknown) => ({ error: e }),
  );

describe('AbortSignal', () => {
  it('a batch aborted after some of its chunks went out rejects with BatchAbortedError: published says exactly how many, the first ones', async () => {
    const b = createBus({ capacity: 4096, topics: ['t'] });
    bus = b;
    b.reader('r').close(); // reserved: holds the ring, reads nothing
    const values = Array.from({ length: 400 }, (_, i) => i);
    const controller = new AbortController();
    const publishing = settled(b.publishBatchAsync('t', values, { signal: controller.signal }));
    await new Promise((resolve) => setTimeout(resolve, 20));
    controller.abort(new Error('enough'));
    const { error } = (await publishing) as { error: BatchAbortedError };
    expect(error).toBeInstanceOf(BatchAbortedError);
    expect(error.code).toBe('ERR_RINGBUS_BATCH_ABORTED');
    expect(error.cause).toEqual(new Error('enough'));
    expect(error.total).toBe(400);
    expect(error.published).toBeGreaterThan(0);
    expect(error.published).toBeLessThan(400);
    const got: number[] = [];
    const reader = b.reader<number>('r');
    reader.poll((v) => got.push(v), 1000);
    expect(got).toEqual(values.slice(0, error.published));
    // aborted before anything went out: the reason itself, as for every other call
    await expect(b.publishBatchAsync('t', values, { signal: AbortSignal.abort('gone') })).rejects.toBe('gone');
  });

  it('publishAsync waiting for space rejects with the reason; one queued behind it rejects at once; neither is ever published', async () => {
    const [b, n] = fullBus();
    bus = b;
    const waiting = new AbortController();
    const queued = new AbortController();
    const first = settled(b.publishAsync('t', 'aborted while waiting', { signal: waiting.signal }));
    const second = settled(b.publishAsync('t', 'aborted while queued', { signal: queued.signal }));
    const after = b.publishAsync('t', 'after', { timeoutMs: 30_000 });
    queued.abort(); // no reason: an AbortError
    expect(await second).toMatchObject({ error: { name: 'AbortError' } });
    const reason = new Error('stop');
    waiting.abort(reason);
    expect(await first).toEqual({ error: reason });
    await expect(b.publishAsync('t', 'already aborted', { signal: AbortSignal.abort('gone') })).rejects.toBe('gone');
    const reader = start('abort-peer', { handle: b.handle, mode: 'read', name: 'r' }, 30_000);
    await after;
    b.close();
    const { values, ended } = await reader.result;
    expect(ended).toBe(true);
    expect(values).toEqual([...Array.from({ length: n }, (_, i) => i), 'after']);
  });

  it('publishBatchAsync and publishEventsAsync abort the same way', async () => {
    const [b, n] = fullBus();
    bus = b;
    const c = new AbortController();
    const batch = settled(b.publishBatchAsync('t', ['b1', 'b2'], { signal: c.signal }));
    const events = settled(b.publishEventsAsync([{ topic: 't', value: 'e1' }], { signal: c.signal }));
    c.abort(new Error('enough'));
    expect(await batch).toMatchObject({ error: { message: 'enough' } });
    expect(await events).toMatchObject({ error: { message: 'enough' } });
    const reader = start('abort-peer', { handle: b.handle, mode: 'read', name: 'r' }, 30_000);
    await b.publishAsync('t', 'last', { timeoutMs: 30_000 });
    b.close();
    expect((await reader.result).values).toEqual([...Array.from({ length: n }, (_, i) => i), 'last']);
  });

  it('drain() rejects with the reason while a reader lags, and resolves once it caught up', async () => {
    bus = createBus({ capacity: 1 << 16, topics: ['t'] });
    bus.reader('r').close();
    const producer = start('abort-peer', { handle: bus.handle, mode: 'publish', count: 100 }, 30_000);
    await producer.result;
    const c = new AbortController();
    const draining = settled(bus.drain({ signal: c.signal }));
    c.abort(new Error('no more waiting'));
    expect(await draining).toMatchObject({ error: { message: 'no more waiting' } });
    const reader = start('abort-peer', { handle: bus.handle, mode: 'read', name: 'r' }, 30_000);
    await bus.drain({ timeoutMs: 30_000, signal: new AbortController().signal });
    bus.close();
    expect((await reader.result).values).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('reader.waitAsync rejects with the reason; without an abort it resolves when a worker publishes', async () => {
    bus = createBus({ capacity: 1 << 16, topics: ['t'] });
    const reader = bus.reader<number>('r');
    const c = new AbortController();
    const waiting = settled(reader.waitAsync(30_000, { signal: c.signal }));
    setTimeout(() => c.abort(new Error('stop waiting')), 20);
    expect(await waiting).toMatchObject({ error: { message: 'stop waiting' } });
    const producer = start('abort-peer', { handle: bus.handle, mode: 'publish', count: 3 }, 30_000);
    expect(await reader.waitAsync(30_000, { signal: new AbortController().signal })).toBe(true);
    await producer.result;
    const got: number[] = [];
    reader.poll((v) => got.push(v), 10);
    expect(got).toEqual([0, 1, 2]);
  });

  it('async iteration ends by throwing the reason, while it waits and between events; the events handled stay committed', async () => {
    bus = createBus({ capacity: 1 << 16, topics: ['t'] });
    bus.reader('r').close();
    const producer = start('abort-peer', { handle: bus.handle, mode: 'publish', count: 10 }, 30_000);
    await producer.result;
    const reader = bus.reader<number>('r');
    const c = new AbortController();
    const seen: number[] = [];
    const loop = async () => {
      for await (const { value } of reader.events({ signal: c.signal })) {
        seen.push(value);
        if (value === 4) c.abort(new Error('between events'));
      }
    };
    expect(await settled(loop())).toMatchObject({ error: { message: 'between events' } });
    expect(seen).toEqual([0, 1, 2, 3, 4]);
    reader.close();

    const again = bus.reader<number>('r');
    const waiting = new AbortController();
    const rest: number[] = [];
    const drainLoop = async () => {
      for await (const { value } of again.events({ signal: waiting.signal })) {
        rest.push(value);
        if (value === 9) setTimeout(() => waiting.abort(new Error('while waiting')), 20);
      }
    };
    expect(await settled(drainLoop())).toMatchObject({ error: { message: 'while waiting' } });
    expect(rest).toEqual([5, 6, 7, 8, 9]);
  });

  it('a signal aborted before the call rejects it, even where there is nothing to wait for: waitAsync with events ready, drain of a bus drained', async () => {
    bus = createBus({ capacity: 1 << 16, topics: ['t'] });
    const reader = bus.reader<number>('r');
    const drainer = bus.reader<number>('d');
    bus.publish('t', 1);
    drainer.poll(() => {}, 10);
    reader.poll(() => {}, 10);
    await bus.drain({ timeoutMs: 0 });
    await expect(bus.drain({ signal: AbortSignal.abort('gone') })).rejects.toBe('gone');
    bus.publish('t', 2);
    await expect(reader.waitAsync(1000, { signal: AbortSignal.abort('gone') })).rejects.toBe('gone');
    const got: number[] = [];
    reader.poll((v) => got.push(v), 10); // the event is still there, and the reader usable
    expect(got).toEqual([2]);
  });

  it('refuses a signal that is not an AbortSignal, and a signal on the calls that block their thread', async () => {
    bus = createBus({ capacity: 4096, topics: ['t'] });
    await expect(bus.publishAsync('t', 1, { signal: {} as AbortSignal })).rejects.toThrow(InvalidOptionError);
    await expect(bus.drain({ signal: 'x' as unknown as AbortSignal })).rejects.toThrow(/signal must be an AbortSignal/);
    expect(() => bus!.publish('t', 1, { signal: new AbortController().signal } as never)).toThrow(/unknown option "signal"/);
  });
});
