import { execFileSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
// @ts-expect-error the parser ships no types
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { createBus, createPipeline, InvalidOptionError, type HealthEvent, type Pipeline, watchHealth } from 'ringbus';
import { RingbusMetrics, serveMetrics, type MetricsServer } from 'ringbus/metrics';
import { start } from './harness.js';
import { collect, stageUrl } from './pipeline-helpers.js';
import { recordSize } from '../src/record.js';

interface Family {
  name: string;
  help: string;
  type: string;
  metrics: { labels?: Record<string, string>; value?: string; buckets?: Record<string, string>; count?: string; sum?: string }[];
}

let server: MetricsServer | undefined;
let pipeline: Pipeline | undefined;
afterEach(async () => {
  await server?.close();
  await pipeline?.close();
  server = pipeline = undefined;
});

/** Scrapes over HTTP and parses the text with a real Prometheus text-format parser. */
async function scrape(url: string): Promise<Map<string, Family>> {
  const response = await fetch(url);
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain; version=0.0.4');
  const families = parsePrometheusTextFormat(await response.text()) as Family[];
  return new Map(families.map((f) => [f.name, f]));
}

function value(families: Map<string, Family>, name: string, labels: Record<string, string>): number {
  const family = families.get(name);
  if (family === undefined) throw new Error(`no metric ${name}`);
  const found = family.metrics.filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (found.length !== 1) throw new Error(`${name}${JSON.stringify(labels)}: ${found.length} series`);
  return Number(found[0].value);
}

describe('Prometheus metrics (ringbus/metrics)', () => {
  it("per topic published events and bytes, and per publishing thread time blocked, summed from each thread's own counters", async () => {
    const bus = createBus({ capacity: 1 << 20, topics: ['orders', 'audit'], codec: 'raw' });
    const small = createBus({ capacity: 4096, topics: ['t'], codec: 'raw' });
    const registry = new Registry();
    new RingbusMetrics({ registry }).addBus('orders', bus).addBus('small', small);
    server = await serveMetrics({ port: 0, registry });

    // Two worker threads publish 8-byte events on 'orders', alone and in batches; this thread mixes topics in one batch.
    const writers = [0, 1].map((producer) =>
      start('producer', { handle: bus.handle, topic: 'orders', producer, count: 3000, maxExtra: 0, batchMax: 16, timeoutMs: 30_000 }, 30_000),
    );
    bus.publishEvents([
      { topic: 'orders', value: new Uint8Array(3) },
      { topic: 'audit', value: new Uint8Array(5) },
      { topic: 'audit', value: new Uint8Array(7) },
      { topic: 'orders', value: new Uint8Array(1) },
    ]);
    await Promise.all(writers.map((w) => w.result));

    // This thread waits for space in a 4 KiB ring that a slow reader empties.
    const slow = small.reader('slow');
    const reading = setInterval(() => slow.poll(() => {}, 1000), 5);
    try {
      for (let i = 0; i < 200; i++) await small.publishAsync('t', new Uint8Array(100));
    } finally {
      clearInterval(reading);
    }

    const after = await scrape(server.url);
    expect(value(after, 'ringbus_topic_published_events_total', { bus: 'orders', topic: 'orders' })).toBe(6002);
    expect(value(after, 'ringbus_topic_published_bytes_total', { bus: 'orders', topic: 'orders' })).toBe(6000 * 8 + 3 + 1);
    expect(value(after, 'ringbus_topic_published_events_total', { bus: 'orders', topic: 'audit' })).toBe(2);
    expect(value(after, 'ringbus_topic_published_bytes_total', { bus: 'orders', topic: 'audit' })).toBe(12);
    expect(value(after, 'ringbus_topic_published_events_total', { bus: 'small', topic: 't' })).toBe(200);
    expect(value(after, 'ringbus_topic_published_bytes_total', { bus: 'small', topic: 't' })).toBe(20_000);
    expect(value(after, 'ringbus_published_events_total', { bus: 'orders' })).toBe(6004);
    // The workers have exited: only the threads publishing now are listed.
    const blocked = after.get('ringbus_producer_blocked_seconds_total')!;
    expect(blocked.type).toBe('COUNTER');
    expect(blocked.metrics.map((m) => [m.labels!.bus, m.labels!.thread])).toEqual([
      ['orders', '0'],
      ['small', '0'],
    ]);
    expect(value(after, 'ringbus_producer_blocked_seconds_total', { bus: 'orders', thread: '0' })).toBe(0);
    expect(value(after, 'ringbus_producer_blocked_seconds_total', { bus: 'small', thread: '0' })).toBeGreaterThan(0);
    expect(value(after, 'ringbus_producer_blocked_seconds_total', { bus: 'small', thread: '0' })).toBeCloseTo(small.stats().producerWaitMs / 1000, 6);
    bus.close();
    small.close();
  });

  it('bytes of keyed events are their payloads: the key the ring carries beside them is not counted', () => {
    const bus = createBus({ capacity: 1 << 16, topics: ['a', 'b'], codec: 'raw' });
    bus.publish('a', new Uint8Array(10), { key: 'k' });
    bus.publishBatch('a', [new Uint8Array(4), new Uint8Array(6)], { keyOf: (_, i) => i });
    bus.publishEvents([
      { topic: 'a', value: new Uint8Array(1), key: 1 },
      { topic: 'b', value: new Uint8Array(3), key: 2 },
      { topic: 'b', value: new Uint8Array(5), key: 3 },
    ]);
    bus.publishEvents([
      { topic: 'b', value: new Uint8Array(7) },
      { topic: 'a', value: new Uint8Array(2) },
    ]);
    expect(bus.topicStats()).toEqual([
      { topic: 'a', events: 5, bytes: 10 + 4 + 6 + 1 + 2 },
      { topic: 'b', events: 3, bytes: 3 + 5 + 7 },
    ]);
    bus.close();
  });

  it('a scrape over HTTP gives the exact figures of a known workload across worker threads', async () => {
    const producers = 2;
    const perProducer = 3000;
    const total = producers * perProducer;
    const bus = createBus({ capacity: 1 << 20, topics: ['orders'], codec: 'raw' });
    bus.reader('idle').close(); // gating, never read: lags by everything
    bus.reader('audit').close(); // opened before the producers, so it sees every event
    const registry = new Registry();
    const metrics = new RingbusMetrics({ registry }).addBus('orders', bus);
    server = await serveMetrics({ port: 0, registry });
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

    const before = await scrape(server.url);
    expect(value(before, 'ringbus_published_events_total', { bus: 'orders' })).toBe(0);
    expect(value(before, 'ringbus_reader_lag_events', { bus: 'orders', reader: 'audit' })).toBe(0);

    const reader = start(
      'reader',
      { handle: bus.handle, name: 'audit', options: {}, producers, perProducer, maxExtra: 0, checkOrder: true, stopAfter: total, timeoutMs: 30_000 },
      30_000,
    );
    await reader.message('ready');
    const writers = Array.from({ length: producers }, (_, producer) =>
      start(
        'producer',
        { handle: bus.handle, topic: 'orders', producer, count: perProducer, maxExtra: 0, batchMax: 16, timeoutMs: 30_000, delayMs: 50 },
        30_000,
      ),
    );
    await Promise.all(writers.map((w) => w.result));
    const read = await reader.result;
    expect(read.received).toBe(total);
    expect(read.errors).toEqual([]);

    const after = await scrape(server.url);
    const bytes = total * recordSize(8); // payloads of 8 bytes (maxExtra 0), far from a wrap
    expect(value(after, 'ringbus_published_events_total', { bus: 'orders' })).toBe(total);
    expect(value(after, 'ringbus_claimed_events_total', { bus: 'orders' })).toBe(total);
    expect(value(after, 'ringbus_written_bytes_total', { bus: 'orders' })).toBe(bytes);
    expect(value(after, 'ringbus_revoked_claims_total', { bus: 'orders' })).toBe(0);
    expect(value(after, 'ringbus_capacity_bytes', { bus: 'orders' })).toBe(1 << 20);
    expect(value(after, 'ringbus_backlog_bytes', { bus: 'orders' })).toBe(bytes);
    expect(value(after, 'ringbus_closed', { bus: 'orders' })).toBe(0);
    expect(value(after, 'ringbus_reader_consumed_events_total', { bus: 'orders', reader: 'audit', kind: 'gating' })).toBe(total);
    expect(value(after, 'ringbus_reader_lag_events', { bus: 'orders', reader: 'audit' })).toBe(0);
    expect(value(after, 'ringbus_reader_lag_bytes', { bus: 'orders', reader: 'audit' })).toBe(0);
    expect(value(after, 'ringbus_reader_consumed_events_total', { bus: 'orders', reader: 'idle' })).toBe(0);
    expect(value(after, 'ringbus_reader_lag_events', { bus: 'orders', reader: 'idle' })).toBe(total);
    expect(value(after, 'ringbus_reader_lag_bytes', { bus: 'orders', reader: 'idle' })).toBe(bytes);
    expect(value(after, 'ringbus_reader_missed_events_total', { bus: 'orders', reader: 'audit' })).toBe(0);
    // the audit reader waited 50 ms for the producers: its waits were counted, in seconds
    const waited = value(after, 'ringbus_reader_wait_seconds_total', { bus: 'orders', reader: 'audit' });
    expect(waited).toBeGreaterThan(0);
    expect(waited).toBeLessThan(30);
    expect(after.get('ringbus_published_events_total')!.type).toBe('COUNTER');
    expect(after.get('ringbus_reader_lag_events')!.type).toBe('GAUGE');
    for (const name of after.keys()) expect(name).toMatch(/^ringbus_[a-z_]+$/);
    for (const [name, family] of after) if (family.type === 'COUNTER') expect(name).toMatch(/_total$/);

    // a reader unsubscribed leaves no stale series; a bus removed leaves nothing
    const idle = bus.reader('idle');
    idle.unsubscribe();
    const later = await scrape(server.url);
    expect(later.get('ringbus_reader_lag_events')!.metrics.map((m) => m.labels!.reader)).toEqual(['audit']);
    expect(value(later, 'ringbus_backlog_bytes', { bus: 'orders' })).toBe(0);
    bus.close();
    expect(value(await scrape(server.url), 'ringbus_closed', { bus: 'orders' })).toBe(1);
    expect(metrics.remove('orders')).toBe(true);
    expect((await scrape(server.url)).get('ringbus_published_events_total')?.metrics ?? []).toEqual([]);

    const notFound = await fetch(server.url.replace('/metrics', '/other'));
    expect(notFound.status).toBe(404);
    await notFound.text();
  });

  it('pipeline stages: in, out, errors, retries, dead letters, restarts and heal times', async () => {
    const p = (pipeline = createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      stages: [{ name: 'guard', module: stageUrl('poison'), consumes: ['in'], produces: ['out'], retry: { attempts: 3 } }],
    }));
    const out = p.output.reader('out');
    const registry = new Registry();
    new RingbusMetrics({ registry }).addPipeline('ingest', p);
    server = await serveMetrics({ port: 0, registry });
    await p.start();
    const began = performance.now();
    // one event alone: one batch of 1
    await p.publishAsync('in', { id: -1 });
    await p.drain({ timeoutMs: 10_000 });
    const one = await scrape(server.url);
    expect(one.get('ringbus_stage_batch_size')!.type).toBe('HISTOGRAM');
    expect(one.get('ringbus_stage_batch_size')!.metrics[0].buckets).toEqual({
      '1': '1',
      '2': '1',
      '4': '1',
      '8': '1',
      '16': '1',
      '32': '1',
      '64': '1',
      '128': '1',
      '256': '1',
      '+Inf': '1',
    });
    expect(value(one, 'ringbus_stage_batches_total', { pipeline: 'ingest', stage: 'guard' })).toBe(1);
    const n = 200;
    const poison = new Set([17, 101, 150]);
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => ({ id, poison: poison.has(id) || undefined })),
      { timeoutMs: 10_000 },
    );
    await p.drain({ timeoutMs: 20_000 });
    const outputs = (await collect(out, n + 1, 10_000)).slice(1); // passed on and dead letters
    expect(outputs.filter((e) => e.topic === 'dead-letter').length).toBe(poison.size);

    const healed = new Promise((resolve) => p.once('heal', resolve));
    await p.kill('guard');
    await healed;
    const f = await scrape(server.url);
    const stage = { pipeline: 'ingest', stage: 'guard' };
    expect(value(f, 'ringbus_stage_in_events_total', stage)).toBe(n + 1);
    expect(value(f, 'ringbus_stage_out_events_total', stage)).toBe(n + 1);
    const { batches, batchSizes, busyMs } = p.stats().stages[0];
    expect(value(f, 'ringbus_stage_batches_total', stage)).toBe(batches);
    expect(batchSizes.reduce((a, b) => a + b, 0)).toBe(batches);
    expect(batches).toBeGreaterThan(1);
    let cumulative = 0;
    const expected = Object.fromEntries(batchSizes.map((c, k) => [k === 9 ? '+Inf' : String(2 ** k), String((cumulative += c))]));
    expect(f.get('ringbus_stage_batch_size')!.metrics[0].buckets).toEqual(expected);
    const busy = value(f, 'ringbus_stage_busy_seconds_total', stage);
    expect(busy).toBeCloseTo(busyMs / 1000, 9);
    expect(busy).toBeGreaterThan(0);
    expect(busy).toBeLessThan((performance.now() - began) / 1000);
    expect(value(f, 'ringbus_stage_errors_total', stage)).toBe(3 * poison.size);
    expect(value(f, 'ringbus_stage_retries_total', stage)).toBe(2 * poison.size);
    expect(value(f, 'ringbus_stage_dead_letters_total', stage)).toBe(poison.size);
    expect(value(f, 'ringbus_stage_restarts_total', stage)).toBe(1);
    expect(value(f, 'ringbus_stage_lag_events', stage)).toBe(0);
    expect(value(f, 'ringbus_stage_workers', stage)).toBe(1);
    expect(value(f, 'ringbus_pipeline_spilled_events_total', { pipeline: 'ingest' })).toBe(0);
    const heal = f.get('ringbus_stage_heal_seconds')!;
    expect(heal.type).toBe('HISTOGRAM');
    expect(heal.metrics).toHaveLength(1);
    // the parser keeps a labelled histogram's buckets (not its _sum and _count): the +Inf bucket is the count
    const buckets = heal.metrics[0].buckets!;
    expect(Number(buckets['+Inf'])).toBe(1);
    const seconds = p.stats().stages[0].healMs[0] / 1000;
    for (const [le, count] of Object.entries(buckets)) expect([le, Number(count)]).toEqual([le, (le === '+Inf' ? Infinity : Number(le)) >= seconds ? 1 : 0]);
    // observed once, not again at every scrape
    expect(Number((await scrape(server.url)).get('ringbus_stage_heal_seconds')!.metrics[0].buckets!['+Inf'])).toBe(1);
  });

  it('health conditions and event counts, as a gauge and a counter', async () => {
    const bus = createBus({ capacity: 1 << 16, topics: ['orders'], codec: 'raw' });
    bus.reader('audit').close();
    const watch = watchHealth({ buses: { orders: bus }, intervalMs: 50, thresholds: { stalledSeconds: 0.3, clearSeconds: 0.1 } });
    try {
      const events: HealthEvent[] = [];
      watch.on('health', (e: HealthEvent) => events.push(e));
      const registry = new Registry();
      new RingbusMetrics({ registry }).addBus('orders', bus).addHealth(watch);
      server = await serveMetrics({ port: 0, registry });
      expect((await scrape(server.url)).get('ringbus_health_condition')!.metrics).toEqual([]);
      await start('producer', { handle: bus.handle, topic: 'orders', producer: 0, count: 40, maxExtra: 0, batchMax: 4, timeoutMs: 10_000 }).result;
      for (const began = performance.now(); events.length === 0 && performance.now() - began < 5_000; ) await new Promise((r) => setTimeout(r, 20));
      const raised = await scrape(server.url);
      expect(value(raised, 'ringbus_health_condition', { kind: 'stalled-reader', bus: 'orders', reader: 'audit' })).toBe(40);
      expect(raised.get('ringbus_health_condition')!.metrics[0].labels).toEqual({
        kind: 'stalled-reader',
        bus: 'orders',
        pipeline: '',
        reader: 'audit',
        stage: '',
      });
      expect(value(raised, 'ringbus_health_events_total', { kind: 'stalled-reader' })).toBe(1);
      bus.reader('audit').unsubscribe(); // no reader, no backlog: the condition clears
      for (const began = performance.now(); events.length < 2 && performance.now() - began < 5_000; ) await new Promise((r) => setTimeout(r, 20));
      const cleared = await scrape(server.url);
      expect(cleared.get('ringbus_health_condition')!.metrics).toEqual([]);
      expect(value(cleared, 'ringbus_health_events_total', { kind: 'stalled-reader' })).toBe(1);
      expect(value(cleared, 'ringbus_health_events_total', { kind: 'recovered' })).toBe(1);
    } finally {
      watch.close();
    }
  });

  it("'ringbus' never loads prom-client; 'ringbus/metrics' does", () => {
    const script = `import { createRequire } from 'node:module';
const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((k) => k.includes('prom-client'));
await import('ringbus'); const main = loaded();
await import('ringbus/metrics'); console.log(JSON.stringify([main, loaded()]));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: new URL('..', import.meta.url),
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(JSON.parse(out)).toEqual([false, true]);
  });

  it('refuses a duplicate or empty name and a bad port with typed errors', async () => {
    const bus = createBus({ capacity: 4096 });
    const registry = new Registry();
    const metrics = new RingbusMetrics({ registry }).addBus('a', bus);
    expect(() => new RingbusMetrics({ registry })).toThrow(/already holds ringbus metrics/);
    expect(() => metrics.addBus('a', bus)).toThrow(InvalidOptionError);
    expect(() => metrics.addBus('', bus)).toThrow(InvalidOptionError);
    await expect(serveMetrics({ port: -1 })).rejects.toThrow(InvalidOptionError);
    await expect(serveMetrics({ port: 0, path: 'metrics' })).rejects.toThrow(InvalidOptionError);
  });

  it('refuses what is not a Bus, a Pipeline or a HealthWatch when it is added, saying what to pass; scrapes go on', async () => {
    const bus = createBus({ capacity: 4096, topics: ['a'] });
    bus.publish('a', 1);
    const registry = new Registry();
    const metrics = new RingbusMetrics({ registry }).addBus('good', bus);
    const p = (pipeline = createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      stages: [{ name: 'step', module: stageUrl('poison'), consumes: ['in'], produces: ['out'] }],
    }));
    const refused = (call: () => unknown, message: RegExp) => {
      expect(call).toThrow(InvalidOptionError);
      expect(call).toThrow(message);
    };
    refused(() => metrics.addBus('handle', bus.handle as never), /addBus\("handle", bus\) needs a Bus, got a bus handle .*attach\(handle\) first/);
    refused(() => metrics.addBus('copied', { ...bus.handle } as never), /attach\(handle\) first/);
    refused(() => metrics.addBus('empty', {} as never), /needs a Bus \(what createBus\(\) or attach\(\) returns\), got an object/);
    refused(() => metrics.addBus('null', null as never), /needs a Bus .*got null/);
    refused(() => metrics.addBus('pipeline', p as never), /got a Pipeline: add it with addPipeline/);
    refused(() => metrics.addPipeline('bus', bus as never), /addPipeline\("bus", pipeline\) needs a Pipeline, got a Bus: pass a bus as addBus/);
    refused(() => metrics.addPipeline('handle', bus.handle as never), /attach\(handle\)/);
    refused(() => metrics.addPipeline('empty', {} as never), /needs a Pipeline \(what createPipeline\(\) returns\)/);
    refused(() => metrics.addHealth({} as never), /needs the HealthWatch that watchHealth\(\) returns/);

    // nothing refused was kept: the names are free, and every scrape answers with the good bus
    metrics.addPipeline('pipeline', p).addBus('empty', p.output);
    server = await serveMetrics({ port: 0, registry });
    const families = await scrape(server.url);
    expect(value(families, 'ringbus_published_events_total', { bus: 'good' })).toBe(1);
    expect(
      families
        .get('ringbus_published_events_total')
        ?.metrics.map((m) => m.labels?.bus)
        .sort(),
    ).toEqual(['empty', 'good']);
    expect(value(families, 'ringbus_stage_workers', { pipeline: 'pipeline', stage: 'step' })).toBe(1);
  });

  it('refuses misspelt options and a registry that is not one, and names a port in use, with typed errors', async () => {
    expect(() => new RingbusMetrics({ regsitry: new Registry() } as never)).toThrow(InvalidOptionError);
    expect(() => new RingbusMetrics({ regsitry: new Registry() } as never)).toThrow(/unknown option "regsitry".*the options are registry/);
    expect(() => new RingbusMetrics({ registry: {} as never })).toThrow(InvalidOptionError);
    expect(() => new RingbusMetrics({ registry: {} as never })).toThrow(/registry must be a prom-client Registry/);
    await expect(serveMetrics({ port: 0, hots: '0.0.0.0' } as never)).rejects.toThrow(InvalidOptionError);
    await expect(serveMetrics({ port: 0, hots: '0.0.0.0' } as never)).rejects.toThrow(/unknown option "hots"/);
    await expect(serveMetrics({ port: 0, registry: {} as never })).rejects.toThrow(/registry must be a prom-client Registry/);
    await expect(serveMetrics({ port: 0, host: 0 as never })).rejects.toThrow(InvalidOptionError);

    server = await serveMetrics({ port: 0, registry: new Registry() });
    const taken = await serveMetrics({ port: server.port, registry: new Registry() }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(taken).toBeInstanceOf(InvalidOptionError);
    expect((taken as Error).message).toMatch(new RegExp(`port ${server.port} on 127\\.0\\.0\\.1 is already in use.*port 0 for any free one`));
    expect(((taken as Error).cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
  });
});
