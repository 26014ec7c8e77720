// Pipeline benchmark scenarios, each an async function returning plain objects;
// suite.ts and bench/scenarios/ make them scenarios of `npm run bench`.
//
// How we measure (docs/BENCHMARKS.md, "The pipeline scenarios"):
// - Every event is checked at the end of a run: each id exactly once at the output, in the
//   producer's order where the transport keeps it; a run that loses, duplicates, reorders
//   or corrupts an event throws BenchFailure instead of reporting a figure.
// - A run is timed from the first publish to the last event consumed, on the main thread's
//   monotonic clock. One warm-up run, then the median of N runs (quick: fewer, smaller);
//   pipeline3-trivial's transports in rounds (run i of each before run i + 1 of any).
// - The machine has 2 cores: stage workers use the pipeline's default 'block' wait; the
//   main thread publishes with publishBatchAsync and reads the output ring with poll +
//   waitAsync, as an application would.
import { MessageChannel, Worker } from 'node:worker_threads';
import os from 'node:os';
import { Piscina } from 'piscina';
import Tinypool from 'tinypool';
import { createPipeline, describePipeline, type Pipeline, type Reader, type StageDeclaration } from 'ringbus';
import { BenchFailure } from '../harness.js';
import type { HealEvent } from './stages/die-on.js';
import type { PostMessageStageData } from './postmessage-stage.js';
import { calibrate, microsPerCall, work } from './work.js';

/** A check failed (lost, duplicated, reordered or corrupt events; a worker died): never a figure. The suite's own class, so `npm run bench` reports it as a failed check. */
export { BenchFailure };

export interface ScenarioOptions {
  quick?: boolean;
  /** Measured runs after the warm-up (pipeline3-trivial, overhead-*); default 3 quick, 5 full. */
  runs?: number;
  /** pipeline3-trivial: run only these transports (default: all). */
  transports?: readonly string[];
  /** Progress: called once per run (warm-ups included), per topology measurement, per heal. */
  tick?: (label: string, line: string) => void;
}

/** Progress ticks a scenario takes with these options (the suite's progress bar). */
export function pipelineSteps(name: string, { quick = false, runs, transports }: ScenarioOptions = {}): number {
  const r = runs ?? (quick ? 3 : 5);
  switch (name) {
    case 'pipeline3-trivial':
      return TRIVIAL_TRANSPORTS.filter((t) => !transports || transports.includes(t)).length * (1 + r);
    case 'overhead-20us':
    case 'overhead-2us':
      return 2 * (1 + r);
    case 'topology-1000':
      return 1;
    case 'heal':
      return HEAL_HOWS.reduce((sum, how) => sum + healCrashes(quick, how), 0);
    default:
      return 0;
  }
}

/** The goals: the targets of the suite's pipeline scenarios (bench/scenarios/). */
export const GOALS = {
  pipeline3TrivialEventsPerSec: 1_000_000,
  overhead20usPct: 1,
  overhead2usPct: 2,
  topology1000Ms: 10,
  healP99Ms: 5,
} as const;

const stageUrl = (name: string) => new URL(`./stages/${name}.js`, import.meta.url);

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** Ids are never reused within a process, so an event left over from an earlier run cannot pass a check. */
let nextId = 0;
function takeIds(n: number): number {
  const base = nextId;
  nextId += n;
  return base;
}

/** The ids of a run in chunks. A plain loop: Array.from with a map function took a fifth of the main thread's time per event, for every transport. */
function chunked(base: number, n: number, size: number): number[][] {
  const chunks: number[][] = [];
  for (let start = 0; start < n; start += size) {
    const chunk: number[] = [];
    for (let id = base + start, end = base + Math.min(n, start + size); id < end; id++) chunk.push(id);
    chunks.push(chunk);
  }
  return chunks;
}

// ---------------------------------------------------------------------------------------
// Ring pipelines of S stages, each passing every event on (trivial, or after W µs of work)
// ---------------------------------------------------------------------------------------

interface LinearSettings {
  stages: number;
  /** Stage module: 'trivial' or 'work' (per-event handlers), 'trivial-batch' (a batch handler). */
  module: 'trivial' | 'work' | 'trivial-batch';
  /** 'raw': each number travels as an 8-byte record (its float64), stages get views of the records. Default: the pipeline's MessagePack. */
  codec?: 'raw';
  iterations?: number;
  batchSize: number;
  capacity: number;
  /** Events per publishBatchAsync() call. */
  publishChunk: number;
}

function linearPipeline(s: LinearSettings): Pipeline {
  const topic = (i: number) => (i === 0 ? 'in' : i === s.stages ? 'out' : `t${i}`);
  const stages: StageDeclaration[] = Array.from({ length: s.stages }, (_, i) => ({
    name: `s${i + 1}`,
    module: stageUrl(s.module),
    consumes: [topic(i)],
    produces: [topic(i + 1)],
    options: { to: topic(i + 1), iterations: s.iterations },
    batchSize: s.batchSize,
  }));
  return createPipeline({ inputs: ['in'], outputs: ['out'], capacity: s.capacity, stages, codec: s.codec });
}

/** How numbers travel: as themselves (MessagePack), or as 8-byte raw records. */
interface Wire {
  encode(ids: number[]): unknown[];
  /** reader.poll(), handing check() each number. */
  poll(reader: Reader<unknown>, check: (value: number, topic: string) => void, max: number): number;
}

const NUMBERS: Wire = { encode: (ids) => ids, poll: (reader, check, max) => reader.poll(check as (value: unknown, topic: string) => void, max) };

/** Raw: each id as a view of its float64 in one buffer per chunk; read back in place with pollRaw() through a DataView of the ring. */
function rawWire(): Wire {
  let view: DataView | undefined;
  return {
    encode(ids) {
      const buffer = new Float64Array(ids).buffer;
      return ids.map((_, k) => new Uint8Array(buffer, 8 * k, 8));
    },
    poll(reader, check, max) {
      return reader.pollRaw((r) => {
        if (view?.buffer !== r.bytes.buffer) view = new DataView(r.bytes.buffer, r.bytes.byteOffset);
        check(r.length === 8 ? view.getFloat64(r.offset, true) : NaN, r.topic);
      }, max);
    },
  };
}

/** Events in flight at most (published, not yet out), as in the postMessage chains. */
const RING_WINDOW = 16_384;

/**
 * One timed run: publishes ids base..base+n-1 (numbers: the smallest MessagePack events)
 * and reads them back from the output ring, checking that they come out exactly once and
 * in order (one producer, stages of concurrency 1: the pipeline keeps its order). Returns
 * events/s. At most RING_WINDOW events are in flight, as in the postMessage chains: left
 * to fill the 1 MiB input ring, the main thread waited for space, and was woken (and woke
 * the first stage's core) at every commit of the first stage, a cost of the harness the
 * postMessage rows did not pay.
 */
async function ringRun(p: Pipeline, reader: Reader<unknown>, n: number, chunk: number, timeoutMs: number, wire: Wire = NUMBERS): Promise<number> {
  const base = takeIds(n);
  const chunks = chunked(base, n, chunk);
  const end = base + n;
  let expected = base;
  const check = (value: number, topic: string) => {
    if (value !== expected || topic !== 'out') throw new BenchFailure(`ring: expected event ${expected} on 'out', got ${JSON.stringify(value)} on '${topic}'`);
    expected++;
  };
  const started = performance.now();
  const deadline = started + timeoutMs;
  let next = 0; // chunks
  let sent = base; // ids
  while (expected < end) {
    while (next < chunks.length && sent - expected + chunks[next].length <= Math.max(RING_WINDOW, chunk)) {
      const ids = chunks[next++];
      await p.publishBatchAsync('in', wire.encode(ids), { timeoutMs });
      sent += ids.length;
    }
    wire.poll(reader, check, 1 << 16);
    if (expected >= end) break;
    if (performance.now() > deadline) throw new BenchFailure(`ring: ${expected - base} of ${n} events came out within ${timeoutMs} ms`);
    if (next < chunks.length && sent - expected + chunks[next].length <= Math.max(RING_WINDOW, chunk)) continue;
    await reader.waitAsync(100);
  }
  return n / ((performance.now() - started) / 1000);
}

/** A ring pipeline opened for measured runs: run() moves and checks one run's events. */
interface RunSession {
  run(): Promise<number>;
  /** The checks after the last run (nothing else came out, no errors or restarts). */
  finish(): Promise<void>;
  /** Ring pipelines: where each stage's time went, over every run so far (call after finish()). */
  stageTimes?(): StageTime[];
  close(): Promise<void>;
}

/** Where a stage's busy time went, per event (from stats(): busyMs and handlerMs). */
export interface StageTime {
  stage: string;
  /** ns per event the stage's worker spent on its batches outside the handler: reading, decoding, routing, encoding, publishing, committing. */
  outsideNsPerEvent: number;
  /** Share of the worker's busy time (reading a batch to committing it) spent inside the handler, %. */
  handlerSharePct: number;
}

function stageTimes(p: Pipeline): StageTime[] {
  return p.stats().stages.map((s) => ({
    stage: s.name,
    outsideNsPerEvent: s.eventsIn === 0 ? 0 : ((s.busyMs - s.handlerMs) * 1e6) / s.eventsIn,
    handlerSharePct: s.busyMs === 0 ? 0 : (100 * s.handlerMs) / s.busyMs,
  }));
}

async function openRing(settings: LinearSettings, n: number): Promise<RunSession> {
  const p = linearPipeline(settings);
  try {
    const reader = p.output.reader<unknown>('bench');
    const wire = settings.codec === 'raw' ? rawWire() : NUMBERS;
    await p.start();
    return {
      run: () => ringRun(p, reader, n, settings.publishChunk, 60_000, wire),
      stageTimes: () => stageTimes(p),
      async finish() {
        await p.drain({ timeoutMs: 10_000 });
        if (reader.poll(() => undefined) !== 0) throw new BenchFailure('ring: events came out beyond those published');
        const stats = p.stats();
        for (const stage of stats.stages) {
          if (stage.errors !== 0 || stage.restarts !== 0) throw new BenchFailure(`ring: stage ${stage.name} had ${stage.errors} errors, ${stage.restarts} restarts`);
        }
      },
      close: () => p.close(),
    };
  } catch (error) {
    await p.close();
    throw error;
  }
}

const rateText = (x: number) => `${Math.round(x).toLocaleString('en')} events/s`;

/**
 * Warm-up run, then `runs` measured runs on one pipeline; checks nothing else came out.
 * `before` runs before each measured run (an interleaved baseline: this machine's speed
 * drifts by a few % from one second to the next, so a baseline measured minutes away
 * would be worth less than the overhead it is compared with).
 */
async function measureRing(settings: LinearSettings, n: number, runs: number, before?: () => void | Promise<void>, tick?: (line: string) => void, times?: (t: StageTime[]) => void): Promise<number[]> {
  const session = await openRing(settings, n);
  try {
    tick?.(`warm-up: ${rateText(await session.run())}`);
    const rates: number[] = [];
    for (let r = 0; r < runs; r++) {
      await before?.();
      rates.push(await session.run());
      tick?.(`run ${r + 1}: ${rateText(rates[r])}`);
    }
    await session.finish();
    times?.(session.stageTimes!());
    return rates;
  } finally {
    await session.close();
  }
}

// ---------------------------------------------------------------------------------------
// pipeline3-trivial
// ---------------------------------------------------------------------------------------

/**
 * Settings of the ring variant. Tried (3 trivial stages, 500k numbers per run, median of 3,
 * while another process kept one core busy, so only coarse differences count): stage
 * batchSize 256 → 1.15M, 1024 → 1.05M, 4096 → 0.95M events/s; stage rings 256 KiB / 1 MiB /
 * 4 MiB and publish chunks of 1,000 / 4,096 / 16,384 all within the noise (0.7–1.3M).
 * Kept batchSize 1024, 1 MiB, 4,096 (1.80M events/s in a full run on the idle machine;
 * 256 was not re-measured idle).
 */
export const RING_TRIVIAL: LinearSettings = { stages: 3, module: 'trivial', batchSize: 1024, capacity: 1 << 20, publishChunk: 4096 };

/** The same with batch handlers that pass each batch on in one emitMany(), numbers as 8-byte raw records. */
export const RING_TRIVIAL_BATCH: LinearSettings = { ...RING_TRIVIAL, module: 'trivial-batch', codec: 'raw' };

export const TRIVIAL_TRANSPORTS = ['ring', 'ring-perEvent', 'postMessage', 'postMessage-batch', 'piscina', 'piscina-batch', 'tinypool-batch'] as const;
export type TrivialTransport = (typeof TRIVIAL_TRANSPORTS)[number];

export interface TrivialResult {
  transport: TrivialTransport;
  /** How the events travel, in words. */
  how: string;
  eventsPerSec: number;
  runs: number[];
  eventsPerRun: number;
  /** What the end-of-run check covers. */
  checked: string;
  /** Threads busy while events flow (stage workers or pool threads, and the main thread). */
  busyThreads: number;
  /** Ring rows: where each stage's time went. */
  stages?: StageTime[];
}

export interface Pipeline3TrivialResult {
  name: 'pipeline3-trivial';
  results: TrivialResult[];
  cores: number;
}

/** postMessage: main → w1 → w2 → w3 → main over MessageChannels, at most `window` events in flight. */
async function openPostMessageChain(batch: number | undefined, n: number, window: number): Promise<RunSession> {
  const channels = Array.from({ length: 4 }, () => new MessageChannel());
  const workers = [0, 1, 2].map((i) => {
    const data: PostMessageStageData = { input: channels[i].port2, output: channels[i + 1].port1, batch: batch !== undefined };
    return new Worker(new URL('./postmessage-stage.js', import.meta.url), { workerData: data, transferList: [data.input, data.output] });
  });
  const head = channels[0].port1;
  const tail = channels[3].port2;
  let failure: Error | undefined;
  let onFailure: ((error: Error) => void) | undefined;
  for (const w of workers) {
    const fail = (error: Error) => {
      failure ??= error;
      onFailure?.(error);
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new BenchFailure(`postMessage: a stage worker exited (${code})`)));
  }
  const close = async () => {
    onFailure = undefined;
    for (const w of workers) w.removeAllListeners('exit');
    await Promise.all(workers.map((w) => w.terminate()));
    for (const c of channels) {
      c.port1.close();
      c.port2.close();
    }
  };
  try {
    await Promise.all(workers.map((w) => new Promise((resolve, reject) => {
      w.once('online', resolve);
      w.once('error', reject);
    })));
  } catch (error) {
    await close();
    throw error;
  }
  const once = (): Promise<number> => {
    const base = takeIds(n);
    const chunks = batch !== undefined ? chunked(base, n, batch) : undefined;
    return new Promise<number>((resolve, reject) => {
      if (failure) return reject(failure);
      onFailure = reject;
      let sent = 0; // events
      let next = 0; // chunks
      let expected = base;
      const pump = () => {
        while (sent < n && sent - (expected - base) < window) {
          if (chunks) {
            const values = chunks[next++];
            head.postMessage(values);
            sent += values.length;
          } else {
            head.postMessage(base + sent);
            sent++;
          }
        }
      };
      const check = (value: number) => {
        if (value !== expected) throw new BenchFailure(`postMessage: expected event ${expected}, got ${JSON.stringify(value)}`);
        expected++;
      };
      const timer = setTimeout(() => reject(new BenchFailure(`postMessage: ${expected - base} of ${n} events within 60 s`)), 60_000);
      tail.on('message', (data: number | number[]) => {
        try {
          if (Array.isArray(data)) for (const value of data) check(value);
          else check(data);
        } catch (error) {
          clearTimeout(timer);
          tail.removeAllListeners('message');
          return reject(error);
        }
        if (expected === base + n) {
          const seconds = (performance.now() - started) / 1000;
          clearTimeout(timer);
          tail.removeAllListeners('message');
          resolve(n / seconds);
        } else if (sent < n && sent - (expected - base) <= window / 2) {
          pump();
        }
      });
      const started = performance.now();
      pump();
    });
  };
  return {
    run: once,
    async finish() {
      if (failure) throw failure;
    },
    close,
  };
}

/**
 * piscina: one pool of 2 threads; each event (or batch) goes through 3 pool.run() calls in
 * sequence, `inFlight` chains at a time. Piscina completes tasks out of order, so the check
 * is each id exactly once with its value intact, not the order.
 */
interface Pool {
  run(value: number | number[]): Promise<number | number[]>;
  destroy(): Promise<void>;
}

const piscinaPool = (): Pool => new Piscina({ filename: new URL('./piscina-task.js', import.meta.url).href, minThreads: 2, maxThreads: 2, idleTimeout: 60_000 });
const tinypoolPool = (): Pool => new Tinypool({ filename: new URL('./tinypool-task.js', import.meta.url).href, minThreads: 2, maxThreads: 2, idleTimeout: 60_000 });

async function openPiscinaChain(batch: number | undefined, n: number, inFlight: number, makePool: () => Pool = piscinaPool): Promise<RunSession> {
  const pool = makePool();
  const once = async (): Promise<number> => {
    const base = takeIds(n);
    const items: (number | number[])[] = batch !== undefined ? chunked(base, n, batch) : Array.from({ length: n }, (_, k) => base + k);
    const seen = new Uint8Array(n);
    let next = 0;
    const started = performance.now();
    const lane = async () => {
      while (next < items.length) {
        let value = items[next++];
        for (let s = 0; s < 3; s++) value = (await pool.run(value)) as number | number[];
        for (const v of Array.isArray(value) ? value : [value]) {
          const k = v - base;
          if (!(k >= 0 && k < n) || seen[k] !== 0) throw new BenchFailure(`piscina: event ${v} unexpected or seen twice`);
          seen[k] = 1;
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    const seconds = (performance.now() - started) / 1000;
    if (!seen.every((s) => s === 1)) throw new BenchFailure('piscina: an event was lost');
    return n / seconds;
  };
  return { run: once, finish: async () => undefined, close: () => pool.destroy() };
}

/**
 * pipeline3-trivial: three stages passing each event on, over the ring and, for scale, the
 * same chain over postMessage (per event, and in arrays of 256) and over piscina tasks.
 * Every transport is opened first, then measured in rounds (a warm-up round, then run i of
 * every transport before run i + 1 of any), so the ratios compare runs made under the same
 * conditions on this shared machine.
 */
export async function runPipeline3Trivial({ quick = false, runs: runsOption, transports, tick }: ScenarioOptions = {}): Promise<Pipeline3TrivialResult> {
  const runs = runsOption ?? (quick ? 3 : 5);
  const n = quick ? 300_000 : 1_000_000;
  const pm = quick ? 100_000 : 300_000;
  const pn = quick ? 20_000 : 50_000;
  const s = RING_TRIVIAL;
  const ordered = 'each id exactly once, in order';
  const unordered = 'each id exactly once (piscina does not keep order)';
  const plans: { transport: TrivialTransport; how: string; n: number; checked: string; busyThreads: number; open: () => Promise<RunSession> }[] = [
    { transport: 'ring', how: `3 stage workers with batch handlers (one emitMany() per batch), numbers as 8-byte raw records (stages get views of them), batchSize ${s.batchSize}, rings of ${s.capacity >> 10} KiB, publishBatchAsync of ${s.publishChunk}, output read with poll + waitAsync`, n, checked: ordered, busyThreads: 4, open: () => openRing(RING_TRIVIAL_BATCH, n) },
    { transport: 'ring-perEvent', how: `3 stage workers with per-event handlers (one emit() per event), MessagePack numbers, batchSize ${s.batchSize}, rings of ${s.capacity >> 10} KiB, publishBatchAsync of ${s.publishChunk}, output read with poll + waitAsync`, n, checked: ordered, busyThreads: 4, open: () => openRing(s, n) },
    { transport: 'postMessage', how: '3 workers chained by MessageChannels, one number per message, ≤ 16,384 events in flight', n: pm, checked: ordered, busyThreads: 4, open: () => openPostMessageChain(undefined, pm, 16_384) },
    { transport: 'postMessage-batch', how: '3 workers chained by MessageChannels, arrays of 256 numbers per message, ≤ 16,384 events in flight', n, checked: ordered, busyThreads: 4, open: () => openPostMessageChain(256, n, 16_384) },
    { transport: 'piscina', how: 'one pool of 2 threads, 3 pool.run() calls in sequence per event, 64 events in flight', n: pn, checked: unordered, busyThreads: 3, open: () => openPiscinaChain(undefined, pn, 64) },
    { transport: 'piscina-batch', how: 'one pool of 2 threads, 3 pool.run() calls in sequence per array of 256 events, 8 arrays in flight', n, checked: unordered, busyThreads: 3, open: () => openPiscinaChain(256, n, 8) },
    { transport: 'tinypool-batch', how: 'tinypool, as piscina-batch: one pool of 2 threads, 3 pool.run() calls in sequence per array of 256 events, 8 arrays in flight', n, checked: 'each id exactly once (tinypool does not keep order)', busyThreads: 3, open: () => openPiscinaChain(256, n, 8, tinypoolPool) },
  ];
  const chosen = plans.filter((p) => !transports || transports.includes(p.transport));
  const sessions: RunSession[] = [];
  try {
    for (const p of chosen) sessions.push(await p.open());
    const rates: number[][] = chosen.map(() => []);
    for (let r = -1; r < runs; r++) {
      for (let i = 0; i < chosen.length; i++) {
        const rate = await sessions[i].run();
        if (r >= 0) rates[i].push(rate);
        tick?.(chosen[i].transport, `${r < 0 ? 'warm-up' : `run ${r + 1}`}: ${rateText(rate)}`);
      }
    }
    for (const session of sessions) await session.finish();
    const results: TrivialResult[] = chosen.map((p, i) => ({ transport: p.transport, how: p.how, eventsPerSec: median(rates[i]), runs: rates[i], eventsPerRun: p.n, checked: p.checked, busyThreads: p.busyThreads, stages: sessions[i].stageTimes?.() }));
    return { name: 'pipeline3-trivial', results, cores: os.availableParallelism() };
  } finally {
    for (const session of sessions) await session.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------
// overhead-20us / overhead-2us
// ---------------------------------------------------------------------------------------

export interface OverheadResult {
  name: 'overhead-20us' | 'overhead-2us';
  transport: 'ring';
  /** Pipeline events/s (median): 2 stages, each doing W µs of work per event. */
  eventsPerSec: number;
  /** Baseline (a): one thread doing one stage's work per event, no bus (median). */
  baselineEventsPerSec: number;
  /** Baseline (b): 2 threads at once, each doing one stage's work per event, no bus (median, the slower thread's rate). */
  parallelBaselineEventsPerSec: number;
  parallelBaselineRuns: number[];
  /** Against baseline (b): the target's figure. */
  overheadPct: number;
  /** Against baseline (a). */
  overheadPctSingleThread: number;
  /** Per stage: share of its worker's busy time spent inside the handler, %, and ns per event outside it. */
  stages: StageTime[];
  runs: number[];
  baselineRuns: number[];
  eventsPerRun: number;
  workUs: number;
  /** The work function's iteration count and its measured µs per call here. */
  iterations: number;
  usPerCall: number;
  definition: string;
  /** The 3-stage pipeline on 2 cores, against all the machine's cores doing the work serially. */
  threeStages: { eventsPerSec: number; baselineEventsPerSec: number; idealEventsPerSec: number; overheadPct: number; runs: number[]; definition: string };
}

const OVERHEAD_DEFINITION =
  'overhead = 1 − pipeline ÷ baseline, where pipeline is a 2-stage pipeline (each stage doing W µs of work per event, so each stage has a core of its own on this 2-core machine; the main thread, publishing and reading the output, shares them) and baseline is (b) 2 threads at once, each doing one stage\'s W µs per event with no bus (the slower one\'s rate): the throughput of "every stage on its own core" with zero coordination cost, on a machine whose cores may run slower when both are busy. overheadPctSingleThread uses baseline (a), one thread alone while the other core idles.';

const THREE_STAGE_DEFINITION =
  'overhead = 1 − pipeline ÷ (serial × min(stages, cores)), where pipeline is a 3-stage pipeline (W µs per stage per event) on 2 cores and serial is one thread doing the 3 stages\' work per event with no bus: the machine\'s whole CPU doing only the work.';

/**
 * Baseline (b): `threads` threads at once, each calling work(·, iterations) once per event
 * for n events with no bus, as the stages do, while the pipeline's workers sleep. events/s
 * of the slowest: on a shared VM two busy cores can each run slower than one alone, and
 * that is the machine, not coordination.
 */
class ParallelBaseline {
  private readonly workers: Worker[];
  constructor(threads: number) {
    this.workers = Array.from({ length: threads }, () => new Worker(new URL('./parallel-work.js', import.meta.url)));
  }

  async run(iterations: number, n: number): Promise<number> {
    const times = await Promise.all(
      this.workers.map(
        (w) =>
          new Promise<number>((resolve, reject) => {
            w.once('message', resolve);
            w.once('error', reject);
            w.postMessage({ iterations, n });
          }),
      ),
    );
    return n / (Math.max(...times) / 1000);
  }

  close(): Promise<number[]> {
    return Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** events/s of one thread (this one, while the pipeline's workers sleep) calling work(·, iterations) `perEvent` times per event, for n events. */
function baselineRun(iterations: number, perEvent: number, n: number): number {
  const started = performance.now();
  for (let id = 0; id < n; id++) for (let s = 0; s < perEvent; s++) work(id, iterations);
  return n / ((performance.now() - started) / 1000);
}

/**
 * overhead-W: stages doing a calibrated W µs of pure-JS work per event (integer hashing
 * over a small buffer, see work.ts). See OVERHEAD_DEFINITION: on 2 cores "per stage on its
 * own core" is a 2-stage pipeline; a 3-stage one is reported too (threeStages). Each
 * measured pipeline run is preceded by a baseline run of the same events (interleaved).
 */
export async function runOverhead(workUs: 20 | 2, { quick = false, runs: runsOption, tick }: ScenarioOptions = {}): Promise<OverheadResult> {
  const runs = runsOption ?? (quick ? 3 : 5);
  const seconds = quick ? 0.3 : 1;
  const { iterations } = calibrate(workUs);
  const usPerCall = microsPerCall(iterations, Math.round(50_000 / workUs));
  const n = Math.round((seconds * 1e6) / workUs);
  // Tried at 20 µs (2 stages): stage batchSize 16 / 64 / 256 / 1024 gave the same within
  // the noise (43–47.6k events/s); 256 at 2 µs. Publish chunks of 256 / 1024.
  const settings = (stages: number): LinearSettings => ({ stages, module: 'work', iterations, batchSize: workUs >= 20 ? 64 : 256, capacity: 1 << 20, publishChunk: workUs >= 20 ? 256 : 1024 });
  const base2: number[] = [];
  const parallel2: number[] = [];
  const parallel = new ParallelBaseline(2);
  let times2: StageTime[] = [];
  let rates2: number[];
  try {
    baselineRun(iterations, 1, n); // warm-up
    await parallel.run(iterations, n);
    rates2 = await measureRing(
      settings(2),
      n,
      runs,
      async () => {
        base2.push(baselineRun(iterations, 1, n));
        parallel2.push(await parallel.run(iterations, n));
      },
      (line) => tick?.('2 stages', line),
      (times) => (times2 = times),
    );
  } finally {
    await parallel.close();
  }
  const n3 = Math.round(n / 1.5);
  const base3: number[] = [];
  const rates3 = await measureRing(settings(3), n3, runs, () => void base3.push(baselineRun(iterations, 3, n3)), (line) => tick?.('3 stages', line));
  const cores = os.availableParallelism();
  const eventsPerSec = median(rates2);
  const baselineEventsPerSec = median(base2);
  const parallelBaselineEventsPerSec = median(parallel2);
  const serial3 = median(base3);
  const ideal3 = serial3 * Math.min(3, cores);
  return {
    name: workUs === 20 ? 'overhead-20us' : 'overhead-2us',
    transport: 'ring',
    eventsPerSec,
    baselineEventsPerSec,
    parallelBaselineEventsPerSec,
    parallelBaselineRuns: parallel2,
    overheadPct: (1 - eventsPerSec / parallelBaselineEventsPerSec) * 100,
    overheadPctSingleThread: (1 - eventsPerSec / baselineEventsPerSec) * 100,
    stages: times2,
    runs: rates2,
    baselineRuns: base2,
    eventsPerRun: n,
    workUs,
    iterations,
    usPerCall,
    definition: OVERHEAD_DEFINITION,
    threeStages: { eventsPerSec: median(rates3), baselineEventsPerSec: serial3, idealEventsPerSec: ideal3, overheadPct: (1 - median(rates3) / ideal3) * 100, runs: rates3, definition: THREE_STAGE_DEFINITION },
  };
}

// ---------------------------------------------------------------------------------------
// topology-1000
// ---------------------------------------------------------------------------------------

/**
 * 1,000 stage declarations in 50 flows of 20 stages, each flow: a chain of 4 from one of
 * 10 shared inputs, a fan-out into 3 branches of 2 stages, a join of the 3 (which also
 * takes a link from the previous flow's join, so flows are not independent) feeding two
 * stages (an audit tap to a shared output, and a stage with a self-loop: retries), a
 * 2-stage loop (ask/answer), and a chain of 5 to one of 4 shared outputs.
 */
export function topologyDeclarations(): { stages: StageDeclaration[]; inputs: string[]; outputs: string[] } {
  const module = stageUrl('trivial').href;
  const stages: StageDeclaration[] = [];
  const add = (name: string, consumes: string[], produces: string[]) => stages.push({ name, module, consumes, produces });
  const flows = 50;
  for (let f = 0; f < flows; f++) {
    const t = (name: string) => `f${f}.${name}`;
    add(t('parse'), [`src${f % 10}`], [t('k1')]);
    add(t('enrich'), [t('k1')], [t('k2')]);
    add(t('validate'), [t('k2')], [t('k3')]);
    add(t('split'), [t('k3')], [t('a1'), t('b1'), t('c1')]);
    for (const b of ['a', 'b', 'c']) {
      add(t(`${b}-map`), [t(`${b}1`)], [t(`${b}2`)]);
      add(t(`${b}-reduce`), [t(`${b}2`)], [t(`${b}3`)]);
    }
    add(t('join'), [t('a3'), t('b3'), t('c3'), ...(f > 0 ? [`f${f - 1}.link`] : [])], [t('joined'), ...(f < flows - 1 ? [t('link')] : [])]);
    add(t('audit'), [t('joined')], [`sink${(f + 1) % 4}`]);
    add(t('retry'), [t('joined'), t('again')], [t('again'), t('settled')]);
    add(t('ask'), [t('settled'), t('answer')], [t('question'), t('asked')]);
    add(t('answer'), [t('question')], [t('answer')]);
    add(t('out1'), [t('asked')], [t('o1')]);
    add(t('out2'), [t('o1')], [t('o2')]);
    add(t('out3'), [t('o2')], [t('o3')]);
    add(t('out4'), [t('o3')], [t('o4')]);
    add(t('out5'), [t('o4')], [`sink${f % 4}`]);
  }
  return { stages, inputs: Array.from({ length: 10 }, (_, i) => `src${i}`), outputs: Array.from({ length: 4 }, (_, i) => `sink${i}`) };
}

export interface TopologyResult {
  name: 'topology-1000';
  /** Median ms of describePipeline() for the 1,000 stages. */
  ms: number;
  runs: number[];
  stages: number;
  edges: number;
  cycles: number;
}

/** topology-1000: derive and validate 1,000 stages with describePipeline(); warm-up, then the median of 20 (quick: 10). */
export async function runTopology1000({ quick = false, tick }: ScenarioOptions = {}): Promise<TopologyResult> {
  const options = topologyDeclarations();
  if (options.stages.length !== 1000) throw new BenchFailure(`topology: built ${options.stages.length} stages, not 1000`);
  const first = describePipeline(options);
  // The shape as built: every stage derived, the 2 loops of each flow found, nothing unconsumed.
  if (first.stages.length !== 1000 || first.cycles.length !== 100 || first.unconsumed.length !== 0) {
    throw new BenchFailure(`topology: derived ${first.stages.length} stages, ${first.cycles.length} cycles, unconsumed [${first.unconsumed.join(', ')}]`);
  }
  for (let i = 0; i < 5; i++) describePipeline(options);
  const runs: number[] = [];
  for (let r = 0; r < (quick ? 10 : 20); r++) {
    const started = performance.now();
    const d = describePipeline(options);
    runs.push(performance.now() - started);
    if (d.stages.length !== 1000) throw new BenchFailure('topology: a run derived another graph');
  }
  tick?.('describePipeline', `median ${median(runs).toFixed(2)} ms`);
  return { name: 'topology-1000', ms: median(runs), runs, stages: first.stages.length, edges: first.edges.length, cycles: first.cycles.length };
}

// ---------------------------------------------------------------------------------------
// heal
// ---------------------------------------------------------------------------------------

export interface HealResult {
  name: 'heal';
  how: HealHow;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  count: number;
  /** Heal times per stage, ms, in order. */
  byStage: Record<string, number[]>;
  /** Heals where a warm standby took over (the others had to start a new worker). */
  byStandby: number;
  eventsPublished: number;
  /** The stream's measured rate, events/s. */
  streamEventsPerSec: number;
  /** Events that came out twice: the dead worker's uncommitted batch, redelivered. */
  duplicates: number;
  description: string;
}

/**
 * heal: a 3-stage pipeline carries a steady stream (batches of 50 events every
 * millisecond or so: about 35,000 events/s) while a stage worker dies every 150 ms, `crashes` times, in turn
 * over the 3 stages. how 'exit': a marker event in the stream makes the stage's handler
 * call process.exit() the first time it meets it; how 'terminate': pipeline.kill() from
 * outside. Heal times come from the pipeline (stats().heal, healMs per stage): from the
 * death to the replacement's first handled event. At the end every id must have come out
 * at least once (at-least-once: the dead worker's uncommitted batch comes out again).
 */
/** Deaths per heal run (the heal scenario makes two runs: how 'exit' and how 'terminate'). */
export const healCrashes = (quick: boolean, how: HealHow = 'exit') => (how === 'cold' ? (quick ? 5 : 10) : quick ? 10 : 30);

/**
 * How the heal scenario's workers die: 'exit' (process.exit() in the handler), 'terminate'
 * (pipeline.kill()), 'timeout' (a handler looping past the stages' handlerTimeoutMs of 50
 * ms), 'cold' (pipeline.kill() with no standby: a new worker every time), 'loaded'
 * (pipeline.kill() 20 to 250 ms apart, at random, while every stage does 20 µs of work per
 * event: with the stream's rate, more work than the machine's cores can do, so every stage
 * is busy and deaths come faster than one standby can be replaced).
 */
export const HEAL_HOWS = ['exit', 'terminate', 'timeout', 'cold', 'loaded'] as const;
export type HealHow = (typeof HEAL_HOWS)[number];

const HANDLER_TIMEOUT_MS = 100;

export async function runHeal({ quick = false, how = 'exit', tick }: ScenarioOptions & { how?: HealHow } = {}): Promise<HealResult> {
  const crashes = healCrashes(quick, how);
  // a cold start takes 75–250 ms here: deaths further apart, so that each heal is alone
  const spacingMs = how === 'cold' ? 500 : 150;
  let seed = 20250;
  const spacing = () => (how === 'loaded' ? 20 + ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 231) : spacingMs);
  const iterations = how === 'loaded' ? calibrate(20).iterations : undefined;
  const flags = new Int32Array(new SharedArrayBuffer(4 * crashes));
  const names = ['a', 'b', 'c'];
  const topic = (i: number) => (i === 0 ? 'in' : i === 3 ? 'out' : `t${i}`);
  const batchSize = 256;
  const p = createPipeline({
    inputs: ['in'],
    outputs: ['out'],
    standby: how === 'cold' ? 0 : 1,
    stages: names.map((name, i) => ({
      name,
      module: stageUrl('die-on'),
      consumes: [topic(i)],
      produces: [topic(i + 1)],
      options: { to: topic(i + 1), flags, iterations },
      batchSize,
      ...(how === 'timeout' && { handlerTimeoutMs: HANDLER_TIMEOUT_MS }),
    })),
  });
  const heals: { stage: string; standby: boolean }[] = [];
  p.on('heal', (h: { stage: string; standby: boolean }) => heals.push(h));
  try {
    const reader = p.output.reader<HealEvent>('bench');
    await p.start();
    const seen: number[] = [];
    const read = () => reader.poll((v) => void (seen[v.id] = (seen[v.id] ?? 0) + 1), 1 << 16);
    let published = 0;
    let streaming = true;
    let pending: HealEvent | undefined;
    const stream = (async () => {
      while (streaming) {
        const batch: HealEvent[] = Array.from({ length: 50 }, () => ({ id: published++ }));
        if (pending) {
          batch[25] = { ...pending, id: batch[25].id };
          pending = undefined;
        }
        await p.publishBatchAsync('in', batch, { timeoutMs: 10_000 });
        read();
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    let streamFailure: unknown;
    stream.catch((error) => (streamFailure = error));
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const streamStarted = performance.now();
    await sleep(300); // everything warm before the first death
    for (let k = 0; k < crashes; k++) {
      if (streamFailure) throw streamFailure;
      const stage = names[k % names.length];
      if (how === 'exit' || how === 'timeout') pending = { id: -1, die: k, at: stage, hang: how === 'timeout' };
      else await p.kill(stage);
      await sleep(spacing());
      tick?.(how, `death ${k + 1} of ${crashes} (${stage}); ${p.stats().heal.count} healed`);
    }
    const deadline = performance.now() + 10_000;
    while (p.stats().heal.count < crashes) {
      if (performance.now() > deadline) throw new BenchFailure(`heal: ${p.stats().heal.count} of ${crashes} deaths healed within 10 s`);
      await sleep(10);
    }
    streaming = false;
    await stream;
    const streamEventsPerSec = published / ((performance.now() - streamStarted) / 1000);
    // read while draining: a backlog left in the stages may be more than the output ring holds
    let drained = false;
    const draining = p.drain({ timeoutMs: 30_000 }).finally(() => (drained = true));
    while (!drained) {
      read();
      await sleep(5);
    }
    await draining;
    read();
    let duplicates = 0;
    for (let id = 0; id < published; id++) {
      if (!(seen[id] >= 1)) throw new BenchFailure(`heal: event ${id} was lost`);
      duplicates += seen[id] - 1;
    }
    if (seen.length !== published) throw new BenchFailure(`heal: ids beyond the ${published} published came out`);
    if (duplicates > crashes * 3 * batchSize) throw new BenchFailure(`heal: ${duplicates} duplicates, more than ${crashes} deaths can redeliver`);
    if ((how === 'exit' || how === 'timeout') && !flags.every((f) => f === 1)) throw new BenchFailure('heal: a marker was never met');
    const stats = p.stats();
    const restarts = stats.stages.reduce((sum, s) => sum + s.restarts, 0);
    // With a wall-clock limit, a thread descheduled for longer than it on a loaded machine
    // times out too: more heals than markers is the limit doing its job, fewer is a failure.
    const exact = how !== 'timeout';
    if ((exact ? stats.heal.count !== crashes : stats.heal.count < crashes) || restarts !== stats.heal.count) {
      throw new BenchFailure(`heal: ${crashes} deaths, but ${stats.heal.count} heals and ${restarts} restarts`);
    }
    return {
      name: 'heal',
      how,
      p50Ms: stats.heal.p50Ms,
      p99Ms: stats.heal.p99Ms,
      maxMs: stats.heal.maxMs,
      count: stats.heal.count,
      byStage: Object.fromEntries(stats.stages.map((s) => [s.name, s.healMs])),
      byStandby: heals.filter((h) => h.standby).length,
      eventsPublished: published,
      streamEventsPerSec,
      duplicates,
      description: {
        exit: `${crashes} deaths by process.exit() inside the handler (a marker event), one every ${spacingMs} ms over 3 stages, under a stream of ${Math.round(streamEventsPerSec)} events/s; from the death to the replacement's first event`,
        terminate: `${crashes} pipeline.kill() (worker.terminate()) one every ${spacingMs} ms over 3 stages, under a stream of ${Math.round(streamEventsPerSec)} events/s; from the kill() call to the replacement's first event`,
        timeout: `${crashes} handlers looping for ever on a marker event, stages with handlerTimeoutMs ${HANDLER_TIMEOUT_MS}, one every ${spacingMs} ms over 3 stages, under a stream of ${Math.round(streamEventsPerSec)} events/s; from the supervisor's terminating the worker to the replacement's first event (the ${HANDLER_TIMEOUT_MS} ms before it are the limit, not the heal)`,
        loaded: `${crashes} pipeline.kill() 20 to 250 ms apart (at random) over 3 stages each doing 20 µs of work per event (${iterations} iterations of work()), under a stream of ${Math.round(streamEventsPerSec)} events/s: every stage busy; from the kill() call to the replacement's first event`,
        cold: `${crashes} pipeline.kill() with standby: 0 (a new worker each time), one every ${spacingMs} ms over 3 stages, under a stream of ${Math.round(streamEventsPerSec)} events/s; from the kill() call to the new worker's first event`,
      }[how],
    };
  } finally {
    await p.close();
  }
}

