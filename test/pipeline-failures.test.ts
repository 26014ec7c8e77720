import { afterEach, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline, type Reader } from 'ringbus';
import { stageUrl } from './pipeline-helpers.js';
import type { Step } from './workers/stages/step.js';

let running: Pipeline[] = [];
afterEach(async () => {
  await Promise.all(running.map((p) => p.close()));
  running = [];
});

/** Reads until every id below `n` was seen at least once; returns how often each was seen. */
async function seenAll<T extends { id: number }>(reader: Reader<T>, n: number, timeoutMs: number, check: (value: T) => void): Promise<Uint16Array> {
  const seen = new Uint16Array(n);
  let distinct = 0;
  const deadline = performance.now() + timeoutMs;
  while (distinct < n) {
    reader.poll((value) => {
      check(value);
      if (seen[value.id]++ === 0) distinct++;
    }, 4096);
    if (distinct >= n) break;
    if (performance.now() > deadline) throw new Error(`saw ${distinct} of ${n} ids within ${timeoutMs} ms`);
    await reader.waitAsync(100);
  }
  return seen;
}

function linear(extra: Partial<Parameters<typeof createPipeline>[0]> = {}) {
  const step = stageUrl('step');
  const p = createPipeline({
    inputs: ['in'],
    outputs: ['out'],
    stages: [
      { name: 'a', module: step, consumes: ['in'], produces: ['t1'], options: { op: 'mul', k: 3, to: ['t1'] } },
      { name: 'b', module: step, consumes: ['t1'], produces: ['t2'], options: { op: 'add', k: 7, to: ['t2'] }, concurrency: 2 },
      { name: 'c', module: step, consumes: ['t2'], produces: ['out'], options: { op: 'mul', k: 5, to: ['out'] } },
    ],
    ...extra,
  });
  running.push(p);
  return p;
}

describe('pipeline failures', () => {
  it('stage workers killed 20 times during a 200,000-event stream: every event comes out, duplicates only from redelivered batches', async () => {
    const p = linear();
    const out = p.output.reader<Step>('check');
    const heals: { stage: string; ms: number }[] = [];
    p.on('heal', (heal) => heals.push(heal));
    await p.start();
    const n = 200_000;
    const targets = [
      ['a', 0],
      ['b', 0],
      ['b', 1],
      ['c', 0],
    ] as const;
    let seed = 12345;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    const publishing = (async () => {
      for (let i = 0; i < n; i += 1000) {
        await p.publishBatchAsync(
          'in',
          Array.from({ length: 1000 }, (_, k) => ({ id: i + k, x: i + k, trail: '' })),
          { timeoutMs: 30_000 },
        );
        if (i % 10_000 === 5_000) {
          const [stage, worker] = targets[Math.floor(random() * targets.length)];
          const healed = heals.length;
          await p.kill(stage, worker);
          // the next kill waits for this heal, so that each death is timed (a replacement
          // killed before its first event would end no heal of its own)
          for (let waited = 0; heals.length === healed; waited++) {
            if (waited > 10_000) throw new Error(`kill ${i / 10_000}: not healed within 10 s`);
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        }
      }
    })();
    const seen = await seenAll(out, n, 120_000, (v) => {
      if (v.x !== (v.id * 3 + 7) * 5 || v.trail !== 'a.b.c.') expect(v).toEqual({ id: v.id, x: (v.id * 3 + 7) * 5, trail: 'a.b.c.' });
    });
    await publishing;
    await p.drain({ timeoutMs: 30_000 });
    out.poll((v) => void seen[v.id]++, 1 << 20);
    let duplicates = 0;
    for (const count of seen) duplicates += count - 1;
    const stats = p.stats();
    const restarts = stats.stages.reduce((sum, s) => sum + s.restarts, 0);
    expect(restarts).toBe(20);
    expect(heals.length).toBe(20);
    expect(stats.heal.count).toBe(20);
    expect(stats.heal.maxMs).toBeLessThan(5_000);
    // A death redelivers at most the batch in hand (256 events) of the dead worker, and
    // what that batch re-emits downstream: at most 20 × 256 duplicates reach the output.
    expect(duplicates).toBeLessThanOrEqual(20 * 256);
    console.log(
      `20 kills: ${duplicates} duplicates at the output, heal p50 ${stats.heal.p50Ms.toFixed(2)} ms, p99 ${stats.heal.p99Ms.toFixed(2)} ms, max ${stats.heal.maxMs.toFixed(2)} ms`,
    );
  });

  it.each(['exit', 'throw'] as const)('a worker that dies by %s outside its handler is replaced and resumes from its committed position', async (how) => {
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const p = createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      stages: [{ name: 'fragile', module: stageUrl('crash'), consumes: ['in'], produces: ['out'], options: { at: 700, how, flag }, batchSize: 100 }],
    });
    running.push(p);
    const out = p.output.reader<{ id: number }>('check');
    await p.start();
    const n = 2000;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => ({ id })),
    );
    const seen = await seenAll(out, n, 30_000, () => undefined);
    await p.drain({ timeoutMs: 10_000 });
    out.poll((v) => void seen[v.id]++, 1 << 20);
    expect(Atomics.load(flag, 0)).toBe(1);
    expect(p.stats().stages[0].restarts).toBe(1);
    // Events 700..799 were the dead worker's uncommitted batch: handed out again, each once more at most.
    for (let id = 0; id < n; id++) expect(seen[id], `event ${id}`).toBe(id >= 700 && id < 800 && seen[id] === 2 ? 2 : 1);
  });

  it('an event that kills its worker every time is dead-lettered after its attempts; the others pass', async () => {
    const p = createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      stages: [{ name: 'doomed', module: stageUrl('always-die'), consumes: ['in'], produces: ['out'], retry: { attempts: 3 }, batchSize: 16 }],
    });
    running.push(p);
    const out = p.output.reader<any>('check');
    await p.start();
    const n = 200;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => (id === 50 ? { id, die: true } : { id })),
    );
    await p.drain({ timeoutMs: 20_000 });
    const passed: number[] = [];
    const dead: any[] = [];
    out.poll((v, topic) => (topic === 'out' ? passed.push(v.id) : dead.push(v)), 1 << 20);
    expect(new Set(passed).size).toBe(n - 1);
    expect(passed.includes(50)).toBe(false);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ stage: 'doomed', value: { id: 50, die: true }, attempts: 3, error: { name: 'WorkerDiedError' } });
    // each death was a failed attempt; the 2nd and 3rd tries were retries
    expect(p.stats().stages[0]).toMatchObject({ restarts: 3, deadLetters: 1, errors: 3, retries: 2 });
  });

  it('replacements that die on their very first event still count as heals: stats() exact', async () => {
    // The poison event is first in the ring: every replacement dies on the first event it
    // handles, right after its heal ended; the fourth worker dead-letters it unhandled.
    const p = createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      stages: [{ name: 'doomed', module: stageUrl('always-die'), consumes: ['in'], produces: ['out'], retry: { attempts: 3 }, batchSize: 16 }],
    });
    running.push(p);
    const heals: { stage: string; standby: boolean }[] = [];
    p.on('heal', (heal) => heals.push(heal));
    const out = p.output.reader<any>('check');
    await p.start();
    const n = 40;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => (id === 0 ? { id, die: true } : { id })),
    );
    await p.drain({ timeoutMs: 20_000 });
    const passed: number[] = [];
    const dead: any[] = [];
    out.poll((v, topic) => (topic === 'out' ? passed.push(v.id) : dead.push(v)), 1 << 20);
    expect(passed).toEqual(Array.from({ length: n - 1 }, (_, i) => i + 1));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ value: { id: 0, die: true }, attempts: 3, error: { name: 'WorkerDiedError' } });
    const stats = p.stats();
    expect(stats.stages[0]).toMatchObject({ restarts: 3, errors: 3, retries: 2, deadLetters: 1, eventsIn: n, eventsOut: n });
    expect(stats.stages[0].healMs).toHaveLength(3);
    expect(stats.heal.count).toBe(3);
    for (const ms of stats.stages[0].healMs) expect(ms).toBeGreaterThanOrEqual(0);
    expect(heals).toHaveLength(3);
  });

  it("kill() hands the seat to a standby without waiting for the killed thread's exit event: healed while this thread never yields", async () => {
    const p = linear();
    const out = p.output.reader<Step>('check');
    await p.start();
    for (let waited = 0; p.stats().standbysReady < 1; waited++) {
      if (waited > 10_000) throw new Error('no standby ready within 10 s');
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    const n = 2000;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => ({ id, x: id, trail: '' })),
    );
    const killing = p.kill('a');
    await new Promise((resolve) => setImmediate(resolve)); // kill() has terminated the worker and handed its seat over
    // No event loop from here: the 'exit' event cannot be seen, only shared memory.
    const deadline = performance.now() + 10_000;
    while (p.stats().heal.count === 0 && performance.now() < deadline);
    expect(p.stats().heal.count).toBe(1);
    await killing;
    const seen = await seenAll(out, n, 30_000, (v) => {
      if (v.x !== (v.id * 3 + 7) * 5 || v.trail !== 'a.b.c.') expect(v).toEqual({ id: v.id, x: (v.id * 3 + 7) * 5, trail: 'a.b.c.' });
    });
    await p.drain({ timeoutMs: 10_000 });
    out.poll((v) => void seen[v.id]++, 1 << 20);
    // at most the killed worker's batch came out twice
    let duplicates = 0;
    for (const count of seen) duplicates += count - 1;
    expect(duplicates).toBeLessThanOrEqual(256);
    const stats = p.stats();
    expect(stats.heal.count).toBe(1);
    expect(stats.stages.map((s) => s.restarts)).toEqual([1, 0, 0]);
    expect(stats.stages.map((s) => s.errors)).toEqual([0, 0, 0]);
  });

  it('three deaths at once with one standby: all healed, and the pool keeps a standby more for each death that found none ready (at most 3 more)', async () => {
    const p = linear();
    const out = p.output.reader<Step>('check');
    await p.start();
    const n = 3000;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => ({ id, x: id, trail: '' })),
    );
    await Promise.all([p.kill('a'), p.kill('b', 0), p.kill('c')]);
    const seen = await seenAll(out, n, 30_000, (v) => {
      if (v.x !== (v.id * 3 + 7) * 5 || v.trail !== 'a.b.c.') expect(v).toEqual({ id: v.id, x: (v.id * 3 + 7) * 5, trail: 'a.b.c.' });
    });
    await p.drain({ timeoutMs: 20_000 });
    out.poll((v) => void seen[v.id]++, 1 << 20);
    let duplicates = 0;
    for (const count of seen) duplicates += count - 1;
    expect(duplicates).toBeLessThanOrEqual(3 * 256);
    const stats = p.stats();
    expect(stats.heal.count).toBe(3);
    expect(stats.stages.reduce((sum, s) => sum + s.restarts, 0)).toBe(3);
    // One standby took a seat; the two deaths it left found none ready: at least 1 + 2
    // standbys from now on (one more if two takeovers came less than 300 ms apart), and never
    // more than 3 above the pipeline's standby option.
    for (let waited = 0; p.stats().standbysReady < 3; waited++) {
      if (waited > 2000) throw new Error(`${p.stats().standbysReady} standbys ready after 20 s, expected at least 3`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await new Promise((resolve) => setTimeout(resolve, 500)); // any standby still starting
    expect(p.stats().standbysReady).toBeGreaterThanOrEqual(3);
    expect(p.stats().standbysReady).toBeLessThanOrEqual(4);
  });

  it('two kills in a row with one standby and a stage module slow to load, the second finding no standby ready: every event comes out, each heal and restart counted once', async () => {
    // Stage a's module takes 400 ms to load. The first kill uses the one standby, whose
    // successor starts at once; the second finds none ready, and after the supervisor's
    // grace a new worker starts loading a's module, later than that successor did.
    const step = stageUrl('step');
    const p = createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      standby: 1,
      stages: [
        { name: 'a', module: stageUrl('slow-load'), consumes: ['in'], produces: ['t1'], options: { op: 'mul', k: 3, to: ['t1'] } },
        { name: 'b', module: step, consumes: ['t1'], produces: ['out'], options: { op: 'add', k: 7, to: ['out'] } },
      ],
    });
    running.push(p);
    const out = p.output.reader<Step>('check');
    const heals: { stage: string; standby: boolean }[] = [];
    p.on('heal', ({ stage, standby }) => void heals.push({ stage, standby }));
    await p.start();
    const n = 4000;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n / 2 }, (_, id) => ({ id, x: id, trail: '' })),
    );
    await p.kill('b');
    await p.kill('a');
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n / 2 }, (_, k) => ({ id: n / 2 + k, x: n / 2 + k, trail: '' })),
      { timeoutMs: 20_000 },
    );
    const seen = await seenAll(out, n, 30_000, (v) => {
      if (v.x !== v.id * 3 + 7 || v.trail !== 'a.b.') expect(v).toEqual({ id: v.id, x: v.id * 3 + 7, trail: 'a.b.' });
    });
    await p.drain({ timeoutMs: 20_000 });
    out.poll((v) => void seen[v.id]++, 1 << 20);
    let duplicates = 0;
    for (const count of seen) duplicates += count - 1;
    expect(duplicates).toBeLessThanOrEqual(2 * 256);
    const stats = p.stats();
    expect(stats.heal.count).toBe(2);
    expect(stats.stages.map((s) => s.restarts)).toEqual([1, 1]);
    expect(heals.map((h) => h.stage).sort()).toEqual(['a', 'b']);
    // a's worker now is the one that healed it, whoever that was
    await p.kill('a');
    await p.drain({ timeoutMs: 20_000 });
    expect(p.stats().heal.count).toBe(3);
    expect(p.stats().stages.map((s) => s.restarts)).toEqual([2, 1]);
  });

  it('a worker killed with nothing left to redo: once drain() resolves, stats() counts its heal', async () => {
    // The replacement's heal ends with its first read; with the rings already empty, nothing
    // else keeps drain() waiting for that read. A new worker (no standby) opens its rings
    // cold, so that read comes well after it took the seat.
    const p = linear({ standby: 0 });
    const out = p.output.reader<Step>('check');
    const heals: string[] = [];
    p.on('heal', ({ stage }) => void heals.push(stage));
    await p.start();
    const n = 200;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => ({ id, x: id, trail: '' })),
    );
    await p.drain({ timeoutMs: 10_000 });
    let kills = 0;
    for (let round = 0; round < 3; round++) {
      for (const stage of ['a', 'c']) {
        await p.kill(stage);
        kills++;
        await p.drain({ timeoutMs: 10_000 });
        expect(heals).toHaveLength(kills); // emitted before drain() resolved
        expect(p.stats().heal.count).toBe(kills);
      }
    }
    const ids: number[] = [];
    out.poll((v) => void ids.push(v.id), 1 << 20);
    expect(ids.sort((x, y) => x - y)).toEqual(Array.from({ length: n }, (_, id) => id));
    expect(p.stats().stages.map((s) => s.restarts)).toEqual([3, 0, 3]);
    expect(heals).toEqual(['a', 'c', 'a', 'c', 'a', 'c']);
  });

  it('drain() then close() loses nothing, and the pipeline can stop and start again in between', async () => {
    const p = linear({ standby: 0 });
    const out = p.output.reader<Step>('check');
    await p.start();
    await p.publishBatchAsync(
      'in',
      Array.from({ length: 5000 }, (_, id) => ({ id, x: id, trail: '' })),
    );
    await p.stop();
    await p.publishBatchAsync(
      'in',
      Array.from({ length: 5000 }, (_, k) => ({ id: 5000 + k, x: 5000 + k, trail: '' })),
    );
    await p.start();
    await p.drain({ timeoutMs: 10_000 });
    await p.close();
    const ids: number[] = [];
    out.poll((v) => void ids.push(v.id), 1 << 20);
    expect(ids.sort((x, y) => x - y)).toEqual(Array.from({ length: 10_000 }, (_, id) => id));
    expect(out.ended).toBe(true);
  });
});
