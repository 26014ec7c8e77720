import { afterEach, describe, expect, it } from 'vitest';
import { createBus, createPipeline, type HealthEvent, type HealthOptions, type HealthWatch, InvalidOptionError, type Pipeline, watchHealth } from 'ringbus';
import { start } from './harness.js';
import { collect, stageUrl } from './pipeline-helpers.js';

let watch: HealthWatch | undefined;
let pipeline: Pipeline | undefined;
afterEach(async () => {
  watch?.close();
  await pipeline?.close();
  watch = pipeline = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once `test()` holds, checking every 20 ms; throws after `timeoutMs`. */
async function until(what: string, test: () => boolean, timeoutMs: number): Promise<number> {
  const began = performance.now();
  while (!test()) {
    if (performance.now() - began > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await sleep(20);
  }
  return performance.now() - began;
}

function record(w: HealthWatch): HealthEvent[] {
  const events: HealthEvent[] = [];
  w.on('health', (e: HealthEvent) => events.push(e));
  return events;
}

const of = (events: HealthEvent[], kind: string) => events.filter((e) => e.kind === kind || e.recovered === kind);

describe('health events', () => {
  it('a stalled reader: raised once with its fields, on the ops topic too, and recovered once it reads', async () => {
    const bus = createBus({ capacity: 1 << 16, topics: ['orders'], codec: 'raw' });
    bus.reader('audit').close(); // gating, read later by a worker
    const ops = createBus({ topics: ['ops'] });
    const log = ops.reader<HealthEvent>('ops-log');
    watch = watchHealth({ buses: { orders: bus }, publishTo: ops, intervalMs: 50, thresholds: { stalledSeconds: 0.5, clearSeconds: 0.2 } });
    const events = record(watch);
    await start('producer', { handle: bus.handle, topic: 'orders', producer: 0, count: 100, maxExtra: 0, batchMax: 8, timeoutMs: 10_000 }).result;
    const waited = await until('stalled-reader', () => events.length > 0, 5_000);
    expect(waited).toBeLessThan(500 + 1_000); // the threshold, plus a reading or two
    expect(events).toEqual([
      {
        kind: 'stalled-reader',
        bus: 'orders',
        reader: 'audit',
        magnitude: 100,
        message: expect.stringContaining('reader "audit" of bus "orders" has 100 events to read'),
        at: expect.any(Number),
      },
    ]);
    expect(watch.conditions()).toEqual([{ ...events[0], message: expect.any(String) }]); // raised at the same time, with the latest reading's figures
    await sleep(600);
    expect(events).toHaveLength(1); // once, however long it lasts

    const reader = start('reader', {
      handle: bus.handle,
      name: 'audit',
      options: {},
      producers: 1,
      perProducer: 100,
      maxExtra: 0,
      checkOrder: true,
      stopAfter: 100,
      timeoutMs: 10_000,
    });
    expect((await reader.result).received).toBe(100);
    await until('recovery', () => events.length > 1, 3_000);
    await sleep(300);
    expect(events).toHaveLength(2);
    expect(events[1]).toMatchObject({
      kind: 'recovered',
      recovered: 'stalled-reader',
      bus: 'orders',
      reader: 'audit',
      message: expect.stringContaining('cleared'),
    });
    expect(watch.conditions()).toEqual([]);
    // the same events, in order, on the ops topic
    const published = await collect(log, 2, 2_000);
    expect(published.map((e) => e.topic)).toEqual(['ops', 'ops']);
    expect(published.map((e) => e.value)).toEqual(events);
  });

  it('a slow consumer and its blocked producers: each raised once while it lasts, recovered after', async () => {
    const bus = createBus({ capacity: 4096, topics: ['orders'], codec: 'raw' }); // 128 events of 32 bytes
    bus.reader('audit').close();
    watch = watchHealth({
      buses: { orders: bus },
      intervalMs: 50,
      thresholds: { slowConsumerSeconds: 0.4, producerBlockedSeconds: 0.5, producerBlockedRatio: 0.5, stalledSeconds: 2, clearSeconds: 1 },
    });
    const events = record(watch);
    const count = 1200;
    // ~1 ms of work per event: the reader is the bottleneck and the ring stays full
    const reader = start(
      'reader',
      {
        handle: bus.handle,
        name: 'audit',
        options: {},
        producers: 1,
        perProducer: count,
        maxExtra: 0,
        checkOrder: true,
        stopAfter: count,
        workMicros: 1000,
        timeoutMs: 30_000,
      },
      30_000,
    );
    await reader.message('ready');
    const producer = start('producer', { handle: bus.handle, topic: 'orders', producer: 0, count, maxExtra: 0, batchMax: 1, timeoutMs: 30_000 }, 30_000);
    await until('slow-consumer and producer-blocked', () => of(events, 'slow-consumer').length > 0 && of(events, 'producer-blocked').length > 0, 10_000);
    const slow = of(events, 'slow-consumer')[0];
    expect(slow).toMatchObject({ kind: 'slow-consumer', bus: 'orders', reader: 'audit', message: expect.stringContaining('producers wait for it') });
    expect(slow.magnitude).toBeGreaterThan(64); // events behind: about a ring's worth
    expect(slow.magnitude).toBeLessThanOrEqual(128);
    const blocked = of(events, 'producer-blocked')[0];
    expect(blocked).toMatchObject({ kind: 'producer-blocked', bus: 'orders', message: expect.stringContaining('behind reader "audit"') });
    expect(blocked.reader).toBeUndefined();
    expect(blocked.magnitude).toBeGreaterThanOrEqual(0.5);
    expect((await producer.result).published).toBe(count);
    const read = await reader.result;
    expect(read.received).toBe(count);
    expect(read.errors).toEqual([]);
    await until('both recovered', () => events.filter((e) => e.kind === 'recovered').length >= 2, 5_000);
    await sleep(500);
    // raised once and recovered once each, and nothing else (no stall: the reader kept reading)
    expect(events.map((e) => `${e.kind}:${e.recovered ?? ''}`).sort(), JSON.stringify(events, null, 1)).toEqual([
      'producer-blocked:',
      'recovered:producer-blocked',
      'recovered:slow-consumer',
      'slow-consumer:',
    ]);
    expect(watch.conditions()).toEqual([]);
  });

  it('pipeline: a stalled stage, a dead-letter spike and a heal storm, each raised once and recovered', async () => {
    const gate = new Int32Array(new SharedArrayBuffer(4));
    const p = (pipeline = createPipeline({
      inputs: ['in', 'held'],
      outputs: ['out'],
      stages: [
        { name: 'guard', module: stageUrl('poison'), consumes: ['in'], produces: ['out'], retry: { attempts: 2 } },
        { name: 'hold', module: stageUrl('hold'), consumes: ['held'], produces: ['out'], options: { gate } },
      ],
    }));
    const out = p.output.reader('out', { lossy: true });
    watch = watchHealth({
      pipelines: { ingest: p },
      intervalMs: 50,
      thresholds: { stalledSeconds: 0.5, deadLetters: 3, restarts: 3, rateWindowSeconds: 1.5, clearSeconds: 0.2 },
    });
    const events = record(watch);
    await p.start();

    // stalled: 10 events wait behind a handler that does not return
    await p.publishBatchAsync(
      'held',
      Array.from({ length: 10 }, (_, id) => ({ id })),
    );
    await until('stalled-stage', () => of(events, 'stalled-stage').length > 0, 5_000);
    expect(events).toEqual([
      {
        kind: 'stalled-stage',
        pipeline: 'ingest',
        stage: 'hold',
        magnitude: 10,
        message: expect.stringContaining('stage "hold" of pipeline "ingest" has 10 events waiting'),
        at: expect.any(Number),
      },
    ]);
    Atomics.store(gate, 0, 1);
    Atomics.notify(gate, 0);
    await until('stalled-stage recovered', () => of(events, 'stalled-stage').length === 2, 3_000);

    // a spike: 5 dead letters within the window, bound 3
    await p.publishBatchAsync(
      'in',
      Array.from({ length: 5 }, (_, id) => ({ id, poison: true })),
    );
    await until('dead-letter-spike', () => of(events, 'dead-letter-spike').length > 0, 5_000);
    const spike = of(events, 'dead-letter-spike')[0];
    expect(spike).toMatchObject({ kind: 'dead-letter-spike', pipeline: 'ingest', stage: 'guard', message: expect.stringContaining('dead letters') });
    expect(spike.magnitude).toBeGreaterThanOrEqual(3);
    expect(spike.magnitude).toBeLessThanOrEqual(5);
    expect(p.stats().stages[0].deadLetters).toBe(5);
    // it clears once the letters fall out of the 1.5 s window
    await until('dead-letter-spike recovered', () => of(events, 'dead-letter-spike').length === 2, 5_000);

    // a storm: 3 workers of one stage replaced within the window
    for (let i = 0; i < 3; i++) {
      const healed = new Promise((resolve) => p.once('heal', resolve));
      await p.kill('guard');
      await healed;
    }
    await until('heal-storm', () => of(events, 'heal-storm').length > 0, 3_000);
    expect(of(events, 'heal-storm')[0]).toMatchObject({
      kind: 'heal-storm',
      pipeline: 'ingest',
      stage: 'guard',
      magnitude: 3,
      message: expect.stringContaining('3 workers'),
    });
    await until('heal-storm recovered', () => of(events, 'heal-storm').length === 2, 5_000);
    await sleep(200);

    expect(events.map((e) => `${e.kind}:${e.recovered ?? ''}:${e.stage}`)).toEqual([
      'stalled-stage::hold',
      'recovered:stalled-stage:hold',
      'dead-letter-spike::guard',
      'recovered:dead-letter-spike:guard',
      'heal-storm::guard',
      'recovered:heal-storm:guard',
    ]);
    expect((await collect(out, 15, 2_000)).map((e) => e.topic).sort()).toEqual([...Array(5).fill('dead-letter'), ...Array(10).fill('out')]); // the 10 held, 5 letters
  });

  // RINGBUS_STEADY_SECONDS=60 npx vitest run test/health.test.ts: the same for a minute
  const steadySeconds = Number(process.env.RINGBUS_STEADY_SECONDS ?? 3);
  it(`a steady load with no fault raises nothing (${steadySeconds} s)`, { timeout: steadySeconds * 1000 + 60_000 }, async () => {
    const bus = createBus({ capacity: 1 << 16, topics: ['orders'], codec: 'raw' });
    bus.reader('audit').close();
    watch = watchHealth({
      buses: { orders: bus },
      intervalMs: 50,
      thresholds: { stalledSeconds: 0.3, slowConsumerSeconds: 0.3, producerBlockedSeconds: 0.3, clearSeconds: 0.1 },
    });
    const events = record(watch);
    const count = steadySeconds * 1000; // 10 events every 10 ms
    const limit = steadySeconds * 1000 + 30_000;
    const reader = start(
      'reader',
      { handle: bus.handle, name: 'audit', options: {}, producers: 1, perProducer: count, maxExtra: 0, checkOrder: true, stopAfter: count, timeoutMs: limit },
      limit,
    );
    await reader.message('ready');
    await start('paced', { handle: bus.handle, topic: 'orders', count, batch: 10, everyMs: 10 }, limit).result;
    expect((await reader.result).received).toBe(count);
    await sleep(400);
    expect(events).toEqual([]);
  });

  it('refuses bad options with typed errors', () => {
    const bus = createBus({ capacity: 4096, topics: ['orders'] });
    expect(() => watchHealth({ buses: { orders: bus }, publishTo: bus })).toThrow(/no topic "ops"/);
    expect(() => watchHealth({ buses: { orders: bus }, thresholds: { stalledSecs: 1 } as never })).toThrow(InvalidOptionError);
    expect(() => watchHealth({ buses: { orders: bus }, thresholds: { stalledSeconds: 0 } })).toThrow(InvalidOptionError);
    expect(() => watchHealth({ buses: { orders: bus }, intervalMs: 1 })).toThrow(InvalidOptionError);
    expect(() => watchHealth({ buses: [bus] as never })).toThrow(InvalidOptionError);
  });

  it('refuses what is not a bus or a pipeline at the call, saying what to pass', () => {
    const bus = createBus({ capacity: 4096, topics: ['orders'] });
    const p = (pipeline = createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      stages: [{ name: 'guard', module: stageUrl('poison'), consumes: ['in'], produces: ['out'] }],
    }));
    const refused = (options: HealthOptions, message: RegExp) => {
      expect(() => (watch = watchHealth(options))).toThrow(InvalidOptionError);
      expect(() => (watch = watchHealth(options))).toThrow(message);
    };
    refused({ buses: { orders: bus.handle as never } }, /buses\["orders"\] needs a Bus, got a bus handle .*attach\(handle\) first/);
    refused({ buses: { orders: {} as never } }, /buses\["orders"\] needs a Bus \(what createBus\(\) or attach\(\) returns\), got an object/);
    refused({ buses: { orders: null as never } }, /got null/);
    refused({ buses: { orders: p as never } }, /got a Pipeline: watch it under pipelines/);
    refused({ pipelines: { ingest: bus as never } }, /pipelines\["ingest"\] needs a Pipeline, got a Bus: pass a bus as buses/);
    refused({ pipelines: { ingest: bus.handle as never } }, /attach\(handle\)/);
    refused({ pipelines: { ingest: 'ingest' as never } }, /needs a Pipeline \(what createPipeline\(\) returns\), got "ingest"/);
    refused({ buses: { orders: bus }, publishTo: bus.handle as never }, /publishTo needs a Bus, got a bus handle/);
    // what is a Bus and a Pipeline is watched
    watch = watchHealth({ buses: { orders: bus, out: p.output }, pipelines: { ingest: p } });
    watch.check();
    expect(watch.conditions()).toEqual([]);
  });

  it('counts dead letters and restarts from the call to watchHealth(), not from its first tick', async () => {
    const p = (pipeline = createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      stages: [{ name: 'guard', module: stageUrl('poison'), consumes: ['in'], produces: ['out'], retry: { attempts: 1 } }],
    }));
    p.output.reader('out', { lossy: true });
    await p.start();
    // a timer that does not tick within the test: the readings are the call's and check()'s
    watch = watchHealth({ pipelines: { ingest: p }, intervalMs: 3_600_000, thresholds: { deadLetters: 3, restarts: 2 } });
    const events = record(watch);
    await p.publishBatchAsync(
      'in',
      Array.from({ length: 3 }, (_, id) => ({ id, poison: true })),
    );
    await until('3 dead letters', () => p.stats().stages[0].deadLetters === 3, 10_000);
    for (let i = 1; i <= 2; i++) {
      await p.kill('guard');
      await until(`restart ${i}`, () => p.stats().stages[0].restarts === i, 10_000);
    }
    watch.check();
    expect(events.map((e) => [e.kind, e.stage, e.magnitude])).toEqual([
      ['dead-letter-spike', 'guard', 3],
      ['heal-storm', 'guard', 2],
    ]);
  });
});
