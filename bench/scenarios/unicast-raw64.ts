// unicast-raw64: one producer worker sends 64-byte raw events to one reader worker, over
// the ring and over postMessage (a MessageChannel between the same two kinds of workers).
// Time per run: from the producer's first publish to the reader having checked the last
// event, both read from the process-wide monotonic clock. All transports are set up at
// once and measured in rounds (see measureRounds); idle workers wait on their ports.
import { MessageChannel } from 'node:worker_threads';
import { createBus } from 'ringbus';
import { BenchFailure, LoadMeter, type RunPlan, summarize, type Summary, WorkerHost, workerUrl } from '../harness.js';
import { checksumOf, type Fault } from '../payload.js';
import type { ProducerData, ProducerDone } from '../workers/producer.js';
import type { ReaderData, ReaderDone } from '../workers/reader.js';

export const NAME = 'unicast-raw64';

export type WaitName = 'block' | 'yield' | 'spin';

export type RingMode = 'batch' | 'claim' | 'raw';

/** How each ring mode publishes and reads, as the table and the JSON name it. */
export const RING_API: Record<RingMode, string> = {
  raw: 'claim+pollRaw',
  batch: 'publishBatch+poll',
  claim: 'claim+poll',
};

export interface RingSettings {
  /**
   * 'raw': the producer claims `batch` records at once and writes them in place, the reader
   * uses pollRaw (zero copy, no allocation per event); 'batch': publishBatch() of `batch`
   * events, read with poll(); 'claim': claim + write + commit per event, read with poll().
   */
  mode: RingMode;
  /** Events per publishBatch() (mode 'batch') or per claim (mode 'raw'). */
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
  /** Cores other processes kept busy, per measured run. */
  otherCores: number[];
  /** Ring only, medians per run: time the reader spent in wait(), the producer waiting for space. */
  readerWaitMs?: number;
  producerWaitMs?: number;
}

interface WaitCounters {
  readerWaitMs: number;
  producerWaitMs: number;
}

export interface ScenarioOptions {
  /** Events per run. */
  events: number;
  fault: Fault;
  stallMs: number;
}

const checksums = new Map<number, number>();
function expectedChecksum(n: number): number {
  let sum = checksums.get(n);
  if (sum === undefined) checksums.set(n, (sum = checksumOf(n)));
  return sum;
}

interface RunResult {
  rate: number;
  seconds: number;
  producerShare: number;
  waits?: WaitCounters;
  /** Cores other processes kept busy during the run. */
  otherCores: number;
}

/** One transport set up between its two workers, measured one run at a time. */
export interface Session {
  readonly label: string;
  readonly events: number;
  /** Moves `events` events and checks every one; throws BenchFailure when a check fails. */
  run(): Promise<RunResult>;
  /** The checks after the last run, then teardown (which happens even if a check fails). */
  finish(): Promise<void>;
  /** Teardown without checks, after a failure elsewhere. */
  abort(): Promise<void>;
}

async function runOnce(label: string, reader: WorkerHost, producer: WorkerHost, n: number, counters?: () => WaitCounters): Promise<RunResult> {
  const want = expectedChecksum(n);
  const before = counters?.();
  const load = new LoadMeter();
  reader.post({ type: 'run', n });
  await reader.next('ready');
  const readerDone = reader.next<ReaderDone & { type: string }>('done');
  producer.post({ type: 'run', n });
  const [r, p] = await Promise.all([readerDone, producer.next<ProducerDone & { type: string }>('done')]);
  const otherCores = load.otherCores();
  if (r.count !== n) throw new BenchFailure(`${label}: the reader saw ${r.count} of ${n} events`);
  if (r.checksum !== want) throw new BenchFailure(`${label}: corrupt events: checksum ${r.checksum >>> 0} of what the reader saw, ${want >>> 0} expected`);
  const total = Number(r.t1 - p.t0) / 1e9;
  if (!(total > 0)) throw new BenchFailure(`${label}: nonsensical timing (${total} s)`);
  const after = counters?.();
  const waits = before && after ? { readerWaitMs: after.readerWaitMs - before.readerWaitMs, producerWaitMs: after.producerWaitMs - before.producerWaitMs } : undefined;
  return { rate: n / total, seconds: total, producerShare: Number(p.t1 - p.t0) / 1e9 / total, waits, otherCores };
}

/**
 * Runs every session's warm-ups and measured runs in rounds (run i of each session before
 * run i+1 of any), so that a busy spell of the machine falls on all transports alike and
 * their ratio stays meaningful. Finishes (or on failure aborts) every session.
 */
export async function measureRounds(sessions: readonly Session[], plan: RunPlan, log: (line: string) => void): Promise<Measurement[]> {
  const results: RunResult[][] = sessions.map(() => []);
  try {
    for (let round = 0; round < plan.warmups + plan.runs; round++) {
      const warmup = round < plan.warmups;
      for (const [i, session] of sessions.entries()) {
        const r = await session.run();
        const waits = r.waits ? `, reader waited ${r.waits.readerWaitMs.toFixed(0)} ms, producer ${r.waits.producerWaitMs.toFixed(0)} ms` : '';
        log(`  ${session.label} ${warmup ? 'warm-up' : 'run'}: ${(r.rate / 1e6).toFixed(2)}M events/s (${r.seconds.toFixed(3)} s${waits}, other processes ${r.otherCores.toFixed(2)} cores)`);
        if (!warmup) results[i].push(r);
      }
    }
  } catch (err) {
    await Promise.all(sessions.map((s) => s.abort()));
    throw err;
  }
  const finished = await Promise.allSettled(sessions.map((s) => s.finish()));
  const failed = finished.find((f): f is PromiseRejectedResult => f.status === 'rejected');
  if (failed) throw failed.reason;
  return sessions.map((session, i) => summarizeRuns(results[i], session.events));
}

function summarizeRuns(results: RunResult[], n: number): Measurement {
  const runs = results.map((r) => r.rate);
  const s = summarize(runs);
  const waited = results.every((r) => r.waits !== undefined);
  return {
    ...s,
    eventsPerSec: s.median,
    runs,
    seconds: results.map((r) => r.seconds),
    eventsPerRun: n,
    producerShare: summarize(results.map((r) => r.producerShare)).median,
    otherCores: results.map((r) => Math.round(r.otherCores * 100) / 100),
    ...(waited && {
      readerWaitMs: summarize(results.map((r) => r.waits!.readerWaitMs)).median,
      producerWaitMs: summarize(results.map((r) => r.waits!.producerWaitMs)).median,
    }),
  };
}

/** Producer and reader workers over one ring of their own. */
export async function openRing(settings: RingSettings, options: ScenarioOptions): Promise<Session> {
  const label =
    settings.mode === 'batch'
      ? `ring (publishBatch ${settings.batch}, ${settings.wait})`
      : settings.mode === 'raw'
        ? `ring (claim x${settings.batch} + pollRaw ${settings.pollMax}, ${settings.wait})`
        : `ring (claim/commit, ${settings.wait})`;
  const bus = createBus({ capacity: settings.capacity, topics: ['t'], codec: 'raw' });
  const readerData: ReaderData = {
    transport: 'ring',
    handle: bus.handle,
    wait: settings.wait,
    api: settings.mode === 'raw' ? 'pollRaw' : 'poll',
    pollMax: settings.pollMax,
    stallMs: options.stallMs,
  };
  const reader = new WorkerHost(`${label} reader`, workerUrl('reader'), readerData);
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
  const teardown = () => Promise.all([reader.terminate(), producer?.terminate()]).then(() => undefined);
  try {
    await reader.next('attached'); // the reader gates the ring before anything is published
    producer = new WorkerHost(`${label} producer`, workerUrl('producer'), producerData);
    await producer.next('attached');
  } catch (err) {
    await teardown();
    throw err;
  }
  const counters = (): WaitCounters => {
    const stats = bus.stats();
    return { readerWaitMs: stats.readers.find((r) => r.name === 'bench')?.waitMs ?? 0, producerWaitMs: stats.producerWaitMs };
  };
  const p = producer;
  let runs = 0;
  return {
    label,
    events: options.events,
    async run() {
      const r = await runOnce(label, reader, p, options.events, counters);
      runs++;
      return r;
    },
    async finish() {
      try {
        bus.close();
        reader.post({ type: 'close' });
        await reader.next('done');
        const stats = bus.stats();
        const expected = runs * options.events;
        if (stats.published !== expected || stats.revoked !== 0) {
          throw new BenchFailure(`${label}: the bus counted ${stats.published} events published and ${stats.revoked} revoked, expected ${expected} and 0`);
        }
      } finally {
        await teardown();
      }
    },
    abort: teardown,
  };
}

/** The same two workers joined by a MessageChannel: one postMessage per event. */
export async function openPostMessage(options: ScenarioOptions): Promise<Session> {
  const { port1, port2 } = new MessageChannel();
  const readerData: ReaderData = { transport: 'postMessage', port: port2, wait: 'block', pollMax: 0, stallMs: options.stallMs };
  const reader = new WorkerHost('postMessage reader', workerUrl('reader'), readerData, [port2]);
  const producerData: ProducerData = { transport: 'postMessage', port: port1, mode: 'batch', batch: 1, wait: 'block', topic: 't', fault: options.fault };
  const producer = new WorkerHost('postMessage producer', workerUrl('producer'), producerData, [port1]);
  const teardown = () => Promise.all([reader.terminate(), producer.terminate()]).then(() => undefined);
  try {
    await Promise.all([reader.next('attached'), producer.next('attached')]);
  } catch (err) {
    await teardown();
    throw err;
  }
  return {
    label: 'postMessage',
    events: options.events,
    run: () => runOnce('postMessage', reader, producer, options.events),
    finish: teardown,
    abort: teardown,
  };
}
