// Claims are revoked when, and only when, their thread is dead. A live producer however slow
// is waited for (revoking it would let its late writes land in space readers skipped or
// others reuse); a dead one's claims are revoked as soon as its death is seen, in every way
// a thread can end, by whichever threads have the ring open.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { ClaimClosedError, ClaimDeadlockError, createBus, InvalidOptionError, TooManyClaimsError, attach, type Bus } from 'ringbus';
import { start } from './harness.js';
import type { StallingJob } from './workers/stalling-producer.js';
import { check } from './workers/payload.js';

const MAX_EXTRA = 40;

function stalling(job: Omit<StallingJob, 'topic' | 'maxExtra' | 'timeoutMs' | 'pauseEvery' | 'pauseMaxMs'> & Partial<StallingJob>) {
  return start('stalling-producer', { topic: 't', maxExtra: MAX_EXTRA, timeoutMs: 20_000, pauseEvery: 1, pauseMaxMs: 0, ...job } satisfies StallingJob);
}

/** Resolves once `ready()` holds, polling with the event loop free (deaths arrive as events); rejects after `ms`. */
async function until(ready: () => boolean, ms: number, what: string): Promise<number> {
  const started = performance.now();
  while (!ready()) {
    if (performance.now() - started > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  return performance.now() - started;
}

/** Raw events read so far, as [producer, seq] of the self-checking payloads (values < 8 bytes kept as their first byte). */
function collect(bus: Bus, name: string) {
  const reader = bus.reader<Uint8Array>(name);
  const got: number[][] = [];
  const poll = () =>
    reader.poll(
      (v) => got.push(v.length >= 8 ? [new DataView(v.buffer, v.byteOffset).getUint32(0), new DataView(v.buffer, v.byteOffset).getUint32(4)] : [v[0]]),
      10_000,
    );
  return { reader, got, poll };
}

describe('a live producer that stalls inside its claims', () => {
  it('is waited for and never revoked: no corrupt event, none lost or repeated, every producer in order', async () => {
    // An 8 KiB ring laps hundreds of times; two producers pause inside zero-copy claims
    // (between the halves of a payload), two publish and batch while descheduled at random.
    const bus = createBus({ timeoutMs: 20_000, capacity: 1 << 13, topics: ['t'] });
    for (const name of ['r0', 'r1']) bus.reader(name).close();
    const perProducer = 3_000;
    const common = { handle: bus.handle, producers: 4, perProducer, maxExtra: MAX_EXTRA, timeoutMs: 30_000, checkOrder: true };
    const readers = ['r0', 'r1'].map((name) => start('reader', { ...common, name, options: {}, stopAfter: 4 * perProducer }));
    const producers = [
      stalling({ handle: bus.handle, producer: 0, count: perProducer, mode: 'claim', then: 'done', pauseEvery: 16, pauseMaxMs: 8 }),
      stalling({ handle: bus.handle, producer: 1, count: perProducer, mode: 'claim', then: 'done', pauseEvery: 16, pauseMaxMs: 8 }),
      stalling({ handle: bus.handle, producer: 2, count: perProducer, mode: 'publish', then: 'done', pauseEvery: 64, pauseMaxMs: 4 }),
      stalling({ handle: bus.handle, producer: 3, count: perProducer, mode: 'batch', then: 'done', pauseEvery: 8, pauseMaxMs: 4 }),
    ];
    await Promise.all(producers.map((p) => p.result));
    const results = await Promise.all(readers.map((r) => r.result));
    for (const r of results) {
      expect(r.errors).toEqual([]);
      expect(r.received).toBe(4 * perProducer);
      expect(r.last).toEqual([perProducer - 1, perProducer - 1, perProducer - 1, perProducer - 1]);
      expect((r.counts as Uint8Array).every((c) => c === 1)).toBe(true);
    }
    expect(bus.stats().revoked).toBe(0);
    expect(bus.stats().published).toBe(4 * perProducer);
  });
});

describe('a producer that dies inside a claim', () => {
  for (const how of ['terminate', 'exit', 'throw'] as const) {
    it(`is revoked once its death is seen (${how}), and the events behind it arrive`, async () => {
      const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 16, topics: ['t'], codec: 'raw' });
      const { got, poll } = collect(bus, 'r');
      bus.publish('t', new Uint8Array([1]));
      const doomed = stalling({ handle: bus.handle, producer: 5, count: 0, mode: 'claim', then: how === 'terminate' ? 'hang' : how });
      doomed.worker.on('error', () => undefined); // 'throw' ends it with an uncaught error
      await doomed.message('claimed', 10_000);
      bus.publish('t', new Uint8Array([2]));
      poll();
      // held at the open claim (a thread that ends itself may already be gone)
      if (how === 'terminate') {
        expect(got).toEqual([[1]]);
        await doomed.worker.terminate();
      }
      await until(() => (poll(), got.length === 2), 5_000, 'the events behind the dead claim');
      expect(got).toEqual([[1], [2]]);
      expect(bus.stats().revoked).toBe(1);
    });
  }

  it('a worker that ends takes its own workers along: their claims are revoked too', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 16, topics: ['t'], codec: 'raw' });
    const { got, poll } = collect(bus, 'r');
    const parent = stalling({ handle: bus.handle, producer: 6, count: 0, mode: 'claim', then: 'spawn' });
    await parent.message('claimed', 10_000); // its child holds a claim
    bus.publish('t', new Uint8Array([7]));
    poll();
    expect(got).toEqual([]);
    await parent.worker.terminate();
    await until(() => (poll(), got.length === 1), 5_000, 'the event behind the grandchild claim');
    expect(got).toEqual([[7]]);
    expect(bus.stats().revoked).toBe(1);
  });

  it('a death seen by a thread without the ring reaches the threads that have it open', async () => {
    // This thread never attaches: a worker owns the ring and reads it; this thread creates
    // the doomed producer, so only it sees the death, and tells the others.
    const owner = new Worker(
      `const { parentPort } = require('node:worker_threads');
       import(${JSON.stringify(new URL('../dist/index.js', import.meta.url).href)}).then(async ({ createBus }) => {
         const bus = createBus({ capacity: 1 << 16, topics: ['t'], codec: 'raw' });
         const reader = bus.reader('r');
         parentPort.postMessage({ type: 'handle', handle: bus.handle });
         const got = [];
         const deadline = Date.now() + 10000;
         while (got.length < 2 && Date.now() < deadline) {
           await reader.waitAsync(100);
           reader.poll((v) => got.push(v[0]));
         }
         parentPort.postMessage({ type: 'done', got, revoked: bus.stats().revoked });
       });`,
      { eval: true },
    );
    const messages = new Map<string, any>();
    const waiting = new Map<string, (m: any) => void>();
    owner.on('message', (m) => (waiting.get(m.type)?.(m), messages.set(m.type, m)));
    const next = (type: string) => (messages.has(type) ? Promise.resolve(messages.get(type)) : new Promise<any>((resolve) => waiting.set(type, resolve)));
    const { handle } = await next('handle');
    const doomed = stalling({ handle, producer: 8, count: 0, mode: 'claim', then: 'hang' });
    await doomed.message('claimed', 10_000);
    const writer = start('producer', { handle, topic: 't', producer: 0, count: 2, maxExtra: 0, batchMax: 1, timeoutMs: 10_000 });
    await writer.result;
    await doomed.worker.terminate();
    const done: { got: unknown[]; revoked: number } = await Promise.race([
      next('done'),
      new Promise((_, reject) => setTimeout(() => reject(new Error('the owner never read past the dead claim')), 15_000)),
    ]);
    expect(done.got).toHaveLength(2);
    expect(done.revoked).toBe(1);
    await owner.terminate();
  });
});

describe('producers killed at random moments, often inside a claim', () => {
  it('never wedge the ring: every committed event arrives intact, once, in order, and nothing is invented', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 13, topics: ['t'], codec: 'raw' });
    const reader = bus.reader<Uint8Array>('r');
    const rounds = 12;
    const next = new Array<number>(rounds + 1).fill(0); // per producer: the seq expected next
    const errors: string[] = [];
    const poll = () =>
      reader.poll((bytes) => {
        try {
          const [producer, seq] = check(bytes, MAX_EXTRA);
          if (producer > rounds || seq !== next[producer]) errors.push(`${producer}/${seq} after ${next[producer] - 1}`);
          next[producer] = seq + 1;
        } catch (e) {
          errors.push((e as Error).message);
        }
      }, 10_000);
    let rng = 12345;
    const random = (n: number) => (rng = (Math.imul(rng, 1103515245) + 12345) >>> 0) % n;
    for (let round = 0; round < rounds; round++) {
      const victim = stalling({
        handle: bus.handle,
        producer: round,
        count: 1e9,
        mode: round % 3 === 2 ? 'batch' : 'claim',
        then: 'done',
        pauseEvery: 2,
        pauseMaxMs: 3,
      });
      await until(() => (poll(), next[round] > 0), 10_000, `producer ${round}'s first event`);
      const until_ = performance.now() + random(30);
      while (performance.now() < until_) {
        poll();
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      await victim.worker.terminate();
    }
    // One more producer, alive: everything it publishes must come through, past every dead claim.
    const last = stalling({ handle: bus.handle, producer: rounds, count: 500, mode: 'publish', then: 'done' });
    await until(() => (poll(), next[rounds] === 500), 10_000, "the last producer's events");
    await last.result;
    expect(errors).toEqual([]);
    expect(next.slice(0, rounds).every((n) => n > 0)).toBe(true); // each victim got events out before it died
    expect(bus.stats().published).toBe(next.reduce((a, b) => a + b, 0)); // everything committed arrived
    expect(bus.stats().revoked).toBeGreaterThan(0); // zero-copy victims spend most of their time inside a claim
  });
});

describe('claims held by the thread itself', () => {
  it('a publish that would wait behind its own open claim fails at once instead of waiting for ever', async () => {
    const bus = createBus({ capacity: 4096, topics: ['t'], codec: 'raw' }); // no timeout: it would wait for ever
    const claim = bus.claim('t', 8);
    let published = 0;
    expect(() => {
      for (;;) {
        bus.publish('t', new Uint8Array(100));
        published++;
      }
    }).toThrow(ClaimDeadlockError);
    expect(published).toBeGreaterThan(20);
    await expect(bus.publishAsync('t', new Uint8Array(100))).rejects.toThrow(ClaimDeadlockError);
    claim.abort();
    bus.publish('t', new Uint8Array(100), { timeoutMs: 1_000 }); // space again
  });

  it('abort() gives a claim up: readers skip it, and a closed claim cannot be committed', () => {
    const bus = createBus({ timeoutMs: 1_000, capacity: 4096, topics: ['t'], codec: 'raw' });
    const { got, poll } = collect(bus, 'r');
    const dropped = bus.claim('t', 4);
    dropped.bytes.fill(9);
    bus.publish('t', new Uint8Array([1]));
    expect(dropped.abort()).toBe(true);
    expect(dropped.abort()).toBe(false);
    expect(() => dropped.commit()).toThrow(ClaimClosedError);
    const kept = bus.claim('t', 1);
    kept.bytes[0] = 2;
    kept.commit();
    expect(() => kept.commit()).toThrow(ClaimClosedError);
    expect(kept.abort()).toBe(false);
    poll();
    expect(got).toEqual([[1], [2]]);
    expect(bus.stats().revoked).toBe(1);
  });

  it(`a thread holds at most six open claims on one bus, whatever Bus objects it uses`, () => {
    const bus = createBus({ timeoutMs: 1_000, capacity: 1 << 16, topics: ['t'], codec: 'raw' });
    const again = attach(bus.handle, { codec: 'raw' });
    const claims = [bus.claim('t', 1), again.claim('t', 1), bus.claim('t', 1), again.claim('t', 1), bus.claim('t', 1), bus.claim('t', 1)];
    expect(() => again.claim('t', 1)).toThrow(TooManyClaimsError);
    expect(() => bus.publish('t', new Uint8Array(1))).toThrow(TooManyClaimsError);
    claims[0].commit();
    bus.publish('t', new Uint8Array(1));
    for (const c of claims.slice(1)) c.commit();
    expect(bus.stats().published).toBe(7);
  });
});

describe('claimTimeoutMs', () => {
  it('is refused with a message saying why it is gone', () => {
    expect(() => createBus({ claimTimeoutMs: 100 } as never)).toThrow(InvalidOptionError);
    expect(() => createBus({ claimTimeoutMs: 100 } as never)).toThrow(/removed/);
    const bus = createBus();
    expect(() => bus.reader('r', { claimTimeoutMs: 100 } as never)).toThrow(/removed/);
    expect(() => attach(bus.handle, { claimTimeoutMs: 100 } as never)).toThrow(/removed/);
  });
});
