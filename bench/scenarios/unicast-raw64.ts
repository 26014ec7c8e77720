// unicast-raw64: one producer worker sends 64-byte raw events to one reader worker, over
// the ring and over postMessage (a MessageChannel between the same two kinds of workers).
// Time per run: from the producer's first publish to the reader having checked the last
// event, both read from the process-wide monotonic clock.
import { MessageChannel } from 'node:worker_threads';
import { createBus } from 'ringbus';
import { BenchFailure, repeat, type RunPlan, summarize, type Summary, WorkerHost, workerUrl } from '../harness.js';
import { checksumOf, type Fault } from '../payload.js';
import type { ProducerData, ProducerDone } from '../workers/producer.js';
import type { ReaderData, ReaderDone } from '../workers/reader.js';

export const NAME = 'unicast-raw64';

export type WaitName = 'block' | 'yield' | 'spin';

export interface RingSettings {
  mode: 'batch' | 'claim';
  /** Events per publishBatch() (mode 'batch'). */
  batch: number;
  /** Wait strategy of both workers (the reader waiting for events, the producer for space). */
  wait: WaitName;
  /** Most events per reader.poll(). */
  pollMax: number;
  capacity: number;
}

export interface Measurement extends Summary {
  eventsPerSec: number;
  /** events/s of each measured run, in run order. */
  runs: number[];
  /** Seconds of each measured run. */
  seconds: number[];
  eventsPerRun: number;
  /** Median share of the run the producer spent publishing (the rest: the reader catching up). */
  producerShare: number;
  /** Ring only, medians per run: time the reader spent in wait(), the producer waiting for space. */
  readerWaitMs?: number;
  producerWaitMs?: number;
}

interface WaitCounters {
  readerWaitMs: number;
  producerWaitMs: number;
}

export interface ScenarioOptions {
  plan: RunPlan;
  events: number;
  fault: Fault;
  stallMs: number;
  log: (line: string) => void;
}

const checksums = new Map<number, number>();
function expectedChecksum(n: number): number {
  let sum = checksums.get(n);
  if (sum === undefined) checksums.set(n, (sum = checksumOf(n)));
  return sum;
}

async function measure(label: string, reader: WorkerHost, producer: WorkerHost, options: ScenarioOptions, counters?: () => WaitCounters): Promise<Measurement> {
  const n = options.events;
  const want = expectedChecksum(n);
  const results = await repeat(
    options.plan,
    async () => {
      const before = counters?.();
      reader.post({ type: 'run', n });
      await reader.next('ready');
      const readerDone = reader.next<ReaderDone & { type: string }>('done');
      producer.post({ type: 'run', n });
      const [r, p] = await Promise.all([readerDone, producer.next<ProducerDone & { type: string }>('done')]);
      if (r.count !== n) throw new BenchFailure(`${label}: the reader saw ${r.count} of ${n} events`);
      if (r.checksum !== want) throw new BenchFailure(`${label}: corrupt events: checksum ${r.checksum >>> 0} of what the reader saw, ${want >>> 0} expected`);
      const total = Number(r.t1 - p.t0) / 1e9;
      if (!(total > 0)) throw new BenchFailure(`${label}: nonsensical timing (${total} s)`);
      const after = counters?.();
      const waits = before && after ? { readerWaitMs: after.readerWaitMs - before.readerWaitMs, producerWaitMs: after.producerWaitMs - before.producerWaitMs } : undefined;
      return { rate: n / total, seconds: total, producerShare: Number(p.t1 - p.t0) / 1e9 / total, waits };
    },
    (r, warmup) => {
      const waits = r.waits ? `, reader waited ${r.waits.readerWaitMs.toFixed(0)} ms, producer ${r.waits.producerWaitMs.toFixed(0)} ms` : '';
      options.log(`  ${label} ${warmup ? 'warm-up' : 'run'}: ${(r.rate / 1e6).toFixed(2)}M events/s (${r.seconds.toFixed(3)} s${waits})`);
    },
  );
  const runs = results.map((r) => r.rate);
  const s = summarize(runs);
  return {
    ...s,
    eventsPerSec: s.median,
    runs,
    seconds: results.map((r) => r.seconds),
    eventsPerRun: n,
    producerShare: summarize(results.map((r) => r.producerShare)).median,
    ...(counters && {
      readerWaitMs: summarize(results.map((r) => r.waits!.readerWaitMs)).median,
      producerWaitMs: summarize(results.map((r) => r.waits!.producerWaitMs)).median,
    }),
  };
}

/** Producer and reader workers over one ring. */
export async function runRing(settings: RingSettings, options: ScenarioOptions): Promise<Measurement> {
  const bus = createBus({ capacity: settings.capacity, topics: ['t'], codec: 'raw' });
  const readerData: ReaderData = { transport: 'ring', handle: bus.handle, wait: settings.wait, pollMax: settings.pollMax, stallMs: options.stallMs };
  const reader = new WorkerHost('ring reader', workerUrl('reader'), readerData);
  const producerData: ProducerData = {
    transport: 'ring',
    handle: bus.handle,
    mode: settings.mode,
    batch: settings.batch,
    wait: settings.wait,
    topic: 't',
    fault: options.fault,
  };
  let producer: WorkerHost | undefined;
  try {
    await reader.next('attached'); // the reader gates the ring before anything is published
    producer = new WorkerHost('ring producer', workerUrl('producer'), producerData);
    await producer.next('attached');
    const label = settings.mode === 'batch' ? `ring (publishBatch ${settings.batch}, ${settings.wait})` : `ring (claim/commit, ${settings.wait})`;
    const counters = (): WaitCounters => {
      const stats = bus.stats();
      return { readerWaitMs: stats.readers.find((r) => r.name === 'bench')?.waitMs ?? 0, producerWaitMs: stats.producerWaitMs };
    };
    const m = await measure(label, reader, producer, options, counters);
    bus.close();
    reader.post({ type: 'close' });
    await reader.next('done');
    const stats = bus.stats();
    const expected = (options.plan.warmups + options.plan.runs) * options.events;
    if (stats.published !== expected || stats.revoked !== 0) {
      throw new BenchFailure(`ring: the bus counted ${stats.published} events published and ${stats.revoked} revoked, expected ${expected} and 0`);
    }
    return m;
  } finally {
    await Promise.all([reader.terminate(), producer?.terminate()]);
  }
}

/** The same two workers joined by a MessageChannel: one postMessage per event. */
export async function runPostMessage(options: ScenarioOptions): Promise<Measurement> {
  const { port1, port2 } = new MessageChannel();
  const readerData: ReaderData = { transport: 'postMessage', port: port2, wait: 'block', pollMax: 0, stallMs: options.stallMs };
  const reader = new WorkerHost('postMessage reader', workerUrl('reader'), readerData, [port2]);
  const producerData: ProducerData = { transport: 'postMessage', port: port1, mode: 'batch', batch: 1, wait: 'block', topic: 't', fault: options.fault };
  const producer = new WorkerHost('postMessage producer', workerUrl('producer'), producerData, [port1]);
  try {
    await Promise.all([reader.next('attached'), producer.next('attached')]);
    return await measure('postMessage', reader, producer, options);
  } finally {
    await Promise.all([reader.terminate(), producer.terminate()]);
  }
}
