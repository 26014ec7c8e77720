import { describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from 'ringbus';
import { closedAfterEach, collect, stageUrl } from './pipeline-helpers.js';
import type { Step } from './workers/stages/step.js';

const track = closedAfterEach();

async function publishAll(p: Pipeline, topic: string, values: unknown[], chunk = 1000): Promise<void> {
  for (let i = 0; i < values.length; i += chunk) await p.publishBatchAsync(topic, values.slice(i, i + chunk), { timeoutMs: 30_000 });
}

describe('pipelines', () => {
  it("a thread's publishes reach every stage in call order, into topics of one ring or of several, awaited or not", async () => {
    const relay = stageUrl('relay');
    const p = track(
      createPipeline({
        inputs: ['a', 'b'],
        outputs: ['o1', 'o2'],
        stages: [
          { name: 's1', module: relay, consumes: ['a'], produces: ['o1'], options: { to: 'o1' } },
          { name: 's2', module: relay, consumes: ['a', 'b'], produces: ['o2'], options: { to: 'o2' } },
        ],
      }),
    );
    const out = p.output.reader<string>('check');
    await p.start();
    const calls = [
      p.publishAsync('a', 'a1'),
      p.publishAsync('b', 'b1'),
      p.publishBatchAsync('a', ['a2', 'a3']),
      Promise.resolve(p.tryPublish('a', 'a4')),
      p.publishAsync('b', 'b2'),
    ];
    await Promise.all(calls);
    await p.drain({ timeoutMs: 10_000 });
    const got: Record<string, string[]> = { o1: [], o2: [] };
    out.poll((v, topic) => got[topic].push(v), 100);
    expect(got).toEqual({ o1: ['a1', 'a2', 'a3', 'a4'], o2: ['a1', 'b1', 'a2', 'a3', 'a4', 'b2'] });
  });

  it('a linear 3-stage pipeline: 200,000 events each come out once, transformed by each stage in order', async () => {
    const step = stageUrl('step');
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stages: [
          { name: 'a', module: step, consumes: ['in'], produces: ['t1'], options: { op: 'mul', k: 3, to: ['t1'] } },
          { name: 'b', module: step, consumes: ['t1'], produces: ['t2'], options: { op: 'add', k: 7, to: ['t2'] } },
          { name: 'c', module: step, consumes: ['t2'], produces: ['out'], options: { op: 'mul', k: 5, to: ['out'] } },
        ],
      }),
    );
    const out = p.output.reader<Step>('check');
    await p.start();
    const n = 200_000;
    const inputs = Array.from({ length: n }, (_, id) => ({ id, x: id, trail: '' }));
    const [events] = await Promise.all([collect(out, n, 60_000), publishAll(p, 'in', inputs)]);
    const seen = new Uint8Array(n);
    for (const { topic, value } of events) {
      expect(topic).toBe('out');
      expect(seen[value.id]).toBe(0);
      seen[value.id] = 1;
      if (value.x !== (value.id * 3 + 7) * 5 || value.trail !== 'a.b.c.') expect(value).toEqual({ id: value.id, x: (value.id * 3 + 7) * 5, trail: 'a.b.c.' });
    }
    expect(seen.every((s) => s === 1)).toBe(true);
    await p.drain({ timeoutMs: 10_000 });
    const stats = p.stats();
    expect(stats.stages.map((s) => [s.name, s.eventsIn, s.eventsOut, s.errors])).toEqual([
      ['a', n, n, 0],
      ['b', n, n, 0],
      ['c', n, n, 0],
    ]);
  });

  it('fan-out and join (a diamond): the join sees each event from both branches exactly once', async () => {
    const step = stageUrl('step');
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stages: [
          { name: 'split', module: step, consumes: ['in'], produces: ['l', 'r'], options: { op: 'add', k: 0, to: ['l', 'r'] } },
          { name: 'left', module: step, consumes: ['l'], produces: ['left'], options: { op: 'mul', k: 2, to: ['left'] } },
          { name: 'right', module: step, consumes: ['r'], produces: ['right'], options: { op: 'add', k: 1, to: ['right'] } },
          { name: 'join', module: stageUrl('join'), consumes: ['left', 'right'], produces: ['out'] },
        ],
      }),
    );
    const d = p.describe();
    expect(d.cycles).toEqual([]);
    expect(d.components.flat().indexOf('split')).toBeLessThan(d.components.flat().indexOf('join'));
    const out = p.output.reader<{ id: number; left: number; right: number }>('check');
    await p.start();
    const n = 50_000;
    const [events] = await Promise.all([
      collect(out, n, 60_000),
      publishAll(
        p,
        'in',
        Array.from({ length: n }, (_, id) => ({ id, x: id, trail: '' })),
      ),
    ]);
    const seen = new Uint8Array(n);
    for (const { value } of events) {
      expect(seen[value.id]).toBe(0);
      seen[value.id] = 1;
      if (value.left !== value.id * 2 || value.right !== value.id + 1) expect(value).toEqual({ id: value.id, left: value.id * 2, right: value.id + 1 });
    }
    expect(seen.every((s) => s === 1)).toBe(true);
    await p.drain({ timeoutMs: 10_000 });
    expect(out.poll(() => undefined)).toBe(0); // no dead letters (a join seeing a side twice throws), nothing else
    expect(p.stats().stages.find((s) => s.name === 'join')).toMatchObject({ eventsIn: 2 * n, errors: 0, deadLetters: 0 });
  });

  it('a stage with concurrency 2: each event is handled by exactly one of its two workers', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stages: [{ name: 'who', module: stageUrl('who'), consumes: ['in'], produces: ['out'], concurrency: 2, batchSize: 64 }],
      }),
    );
    const out = p.output.reader<{ id: number; worker: number }>('check');
    await p.start();
    const n = 100_000;
    const [events] = await Promise.all([
      collect(out, n, 60_000),
      publishAll(
        p,
        'in',
        Array.from({ length: n }, (_, id) => ({ id })),
        500,
      ),
    ]);
    const seen = new Uint8Array(n);
    const byWorker = [0, 0];
    for (const { value } of events) {
      expect(seen[value.id]).toBe(0);
      seen[value.id] = 1;
      byWorker[value.worker]++;
    }
    expect(seen.every((s) => s === 1)).toBe(true);
    await p.drain({ timeoutMs: 10_000 });
    expect(out.poll(() => undefined)).toBe(0); // nothing more came out
    expect(byWorker[0] + byWorker[1]).toBe(n);
    expect(byWorker[0]).toBeGreaterThan(0);
    expect(byWorker[1]).toBeGreaterThan(0);
  });

  it('a feedback loop sends each event round 3 times on a tiny ring: exact counts, no deadlock', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        capacity: 4096,
        stages: [{ name: 'loop', module: stageUrl('loop'), consumes: ['in', 'again'], produces: ['again', 'out'], options: { rounds: 3 }, batchSize: 32 }],
      }),
    );
    const d = p.describe();
    expect(d.cycles).toEqual([['loop']]);
    expect(d.edges).toEqual([{ from: 'loop', to: 'loop', topic: 'again', feedback: true }]);
    const out = p.output.reader<{ id: number; round: number }>('check');
    await p.start();
    const n = 20_000;
    const [events] = await Promise.all([
      collect(out, n, 60_000),
      publishAll(
        p,
        'in',
        Array.from({ length: n }, (_, id) => ({ id, round: 0 })),
        100,
      ),
    ]);
    await p.drain({ timeoutMs: 20_000 });
    const seen = new Uint8Array(n);
    for (const { value } of events) {
      expect(value.round).toBe(3);
      expect(seen[value.id]).toBe(0);
      seen[value.id] = 1;
    }
    expect(seen.every((s) => s === 1)).toBe(true);
    expect(out.poll(() => undefined)).toBe(0);
    const stats = p.stats();
    expect(stats.stages[0].eventsIn).toBe(4 * n); // the input and three rounds
    expect(stats.stages[0].eventsOut).toBe(4 * n);
    expect(stats.spilled).toBe(0);
    expect(stats.spilledTotal).toBeGreaterThan(0); // the ring was full: the loop went through the spill
  });

  it('a poison event ends in the dead-letter topic after its retries; the others pass', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stages: [{ name: 'check', module: stageUrl('poison'), consumes: ['in'], produces: ['out'], retry: { attempts: 3, backoffMs: 1 } }],
      }),
    );
    const out = p.output.reader<{ id: number }>('out', { topics: ['out'] });
    const dead = p.output.reader<import('ringbus').DeadLetter>('dead', { topics: ['dead-letter'] });
    await p.start();
    const n = 1000;
    await publishAll(
      p,
      'in',
      Array.from({ length: n }, (_, id) => (id === 500 ? { id, poison: true } : { id })),
    );
    await p.drain({ timeoutMs: 10_000 });
    const passed = await collect(out, n - 1, 1000);
    expect(passed.map((e) => e.value.id)).toEqual(Array.from({ length: n }, (_, id) => id).filter((id) => id !== 500));
    const letters = await collect(dead, 1, 1000);
    expect(letters[0].value).toMatchObject({
      stage: 'check',
      topic: 'in',
      value: { id: 500, poison: true },
      attempts: 3,
      error: { name: 'Error', message: 'poison event 500 (attempt 3)' },
    });
    expect(out.poll(() => undefined) + dead.poll(() => undefined)).toBe(0);
    expect(p.stats().stages[0]).toMatchObject({ eventsIn: n, eventsOut: n, errors: 3, retries: 2, deadLetters: 1 });
  });

  it('async handlers: every event handled once, in order', async () => {
    const p = track(
      createPipeline({ inputs: ['in'], outputs: ['out'], stages: [{ name: 'later', module: stageUrl('async-step'), consumes: ['in'], produces: ['out'] }] }),
    );
    const out = p.output.reader<{ id: number; async: boolean }>('check');
    await p.start();
    const n = 20_000;
    const [events] = await Promise.all([
      collect(out, n, 30_000),
      publishAll(
        p,
        'in',
        Array.from({ length: n }, (_, id) => ({ id })),
      ),
    ]);
    expect(events.map((e) => e.value.id)).toEqual(Array.from({ length: n }, (_, id) => id));
  });

  it("the README's way: outputs read with for await while 30,000 events (more than the output ring holds) are published", async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        capacity: 64 * 1024,
        stages: [{ name: 'a', module: stageUrl('step'), consumes: ['in'], produces: ['out'], options: { op: 'add', k: 1, to: ['out'] } }],
      }),
    );
    const results = p.output.reader<Step>('results');
    await p.start();
    let count = 0;
    const reading = (async () => {
      for await (const { value } of results) if (value.x === value.id + 1) count++;
    })();
    const n = 30_000;
    await publishAll(
      p,
      'in',
      Array.from({ length: n }, (_, id) => ({ id, x: id, trail: '' })),
    );
    await p.drain({ timeoutMs: 20_000 });
    await p.close();
    await reading;
    expect(count).toBe(n);
  });

  it('tryPublish into a topic two stages consume: every event reaches both, in order, without waiting', async () => {
    const step = stageUrl('step');
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        capacity: 4096,
        stages: [
          { name: 'x', module: step, consumes: ['in'], produces: ['out'], options: { op: 'add', k: 0, to: ['out'] } },
          { name: 'y', module: step, consumes: ['in'], produces: ['out'], options: { op: 'add', k: 1, to: ['out'] } },
        ],
      }),
    );
    const out = p.output.reader<Step>('check');
    await p.start();
    const n = 5000;
    const reading = collect(out, 2 * n, 60_000);
    let refused = 0;
    for (let id = 0; id < n; id++) {
      while (!p.tryPublish('in', { id, x: id, trail: '' })) {
        refused++;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    }
    const events = await reading;
    await p.drain({ timeoutMs: 10_000 });
    const byStage = { 'x.': [] as number[], 'y.': [] as number[] };
    for (const { value } of events) byStage[value.trail as 'x.' | 'y.'].push(value.id);
    expect(byStage['x.']).toEqual(Array.from({ length: n }, (_, id) => id));
    expect(byStage['y.']).toEqual(Array.from({ length: n }, (_, id) => id));
    expect(refused).toBeGreaterThan(0); // the 4 KiB rings filled: tryPublish said so instead of waiting
  });

  it("codec 'raw': stages get views of the ring and emit bytes; dead letters are still MessagePack objects", async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        codec: 'raw',
        stages: [{ name: 'inc', module: stageUrl('bytes'), consumes: ['in'], produces: ['out'], retry: { attempts: 1 } }],
      }),
    );
    const out = p.output.reader<any>('check');
    await p.start();
    const n = 2000;
    const inputs = Array.from({ length: n }, (_, id) => new Uint8Array([id % 200, (id >> 8) & 0xff, 7]));
    inputs[100] = new Uint8Array([255, 0, 0]);
    await p.publishBatchAsync('in', inputs);
    await p.drain({ timeoutMs: 10_000 });
    const got: Uint8Array[] = [];
    const dead: any[] = [];
    out.poll((value, topic) => (topic === 'out' ? got.push(value.slice()) : dead.push(value)), 1 << 20);
    expect(got).toHaveLength(n - 1);
    expect(got[100]).toEqual(new Uint8Array([(101 % 200) + 1, 1, 8]));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ stage: 'inc', attempts: 1, value: new Uint8Array([255, 0, 0]), error: { message: 'byte 255' } });
    await expect(p.publishAsync('in', { not: 'bytes' })).rejects.toThrow(/expected a Uint8Array/);
  });

  it('stage workers start with a 12 MB young generation unless resourceLimits says otherwise, key by key', async () => {
    const limitsOf = async (resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number }) => {
      const p = track(
        createPipeline({
          inputs: ['in'],
          outputs: ['out'],
          standby: 0,
          resourceLimits,
          stages: [{ name: 'limits', module: stageUrl('limits'), consumes: ['in'], produces: ['out'] }],
        }),
      );
      const out = p.output.reader<{ id: number; limits: Record<string, number> }>('check');
      await p.start();
      await p.publishAsync('in', { id: 1 });
      const [event] = await collect(out, 1, 20_000);
      await p.close();
      return event.value.limits;
    };
    const defaults = await limitsOf();
    expect(defaults.maxYoungGenerationSizeMb).toBe(12);
    expect(await limitsOf({ maxOldGenerationSizeMb: 256 })).toMatchObject({ maxYoungGenerationSizeMb: 12, maxOldGenerationSizeMb: 256 });
    expect(await limitsOf({ maxYoungGenerationSizeMb: 48 })).toMatchObject({
      maxYoungGenerationSizeMb: 48,
      maxOldGenerationSizeMb: defaults.maxOldGenerationSizeMb,
    });
  });

  it("codec 'json' between stages", async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        codec: 'json',
        stages: [{ name: 'a', module: stageUrl('step'), consumes: ['in'], produces: ['out'], options: { op: 'mul', k: 2, to: ['out'] } }],
      }),
    );
    const out = p.output.reader<Step>('check');
    await p.start();
    await publishAll(
      p,
      'in',
      Array.from({ length: 1000 }, (_, id) => ({ id, x: id, trail: '' })),
    );
    const events = await collect(out, 1000, 10_000);
    expect(events.map((e) => e.value.x)).toEqual(Array.from({ length: 1000 }, (_, id) => id * 2));
    expect(() => createPipeline({ inputs: ['in'], codec: 'cbor' as any, stages: [{ name: 'a', module: stageUrl('step'), consumes: ['in'] }] })).toThrow(
      /'msgpack', 'json' or 'raw'/,
    );
  });
});
