// The ring's pipelines of the pipeline scenarios: a linear pipeline of S stages, each
// passing every event on (trivial, or after W µs of work), fed by the main thread with
// publishBatchAsync and read back with poll (or pollRaw) + waitAsync, as an application
// would; every id checked exactly once and in order at the output.
import { createPipeline, type Pipeline, type Reader, type StageDeclaration } from 'ringbus';
import { BenchFailure } from '../harness.js';
import { chunked, rateText, type RunSession, type StageTime, stageUrl, takeIds } from '../pipeline/runs.js';

export interface LinearSettings {
  stages: number;
  /** Stage module: 'trivial' or 'work' (per-event handlers), 'trivial-batch' (a batch handler), 'trivial-records' (a records handler). */
  module: 'trivial' | 'work' | 'trivial-batch' | 'trivial-records';
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

/**
 * Raw: each id as a view of its float64 in one buffer, written again for every chunk (a
 * publish copies raw values at the call, so a raw publisher may reuse its buffers at once);
 * read back in place with pollRaw() through a DataView of the ring.
 */
function rawWire(): Wire {
  let memory: Uint8Array | undefined;
  let view: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(8));
  let numbers = new Float64Array(0);
  let views: Uint8Array[] = [];
  return {
    encode(ids) {
      if (numbers.length < ids.length) {
        numbers = new Float64Array(ids.length);
        views = ids.map((_, k) => new Uint8Array(numbers.buffer, 8 * k, 8));
      }
      numbers.set(ids);
      return ids.length === views.length ? views : views.slice(0, ids.length);
    },
    poll(reader, check, max) {
      return reader.pollRaw((r) => {
        // the same memory every time: a view's .buffer of shared memory costs ~17 ns to read
        if (memory !== r.bytes) {
          memory = r.bytes;
          view = new DataView(memory.buffer, memory.byteOffset);
        }
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

function stageTimes(p: Pipeline): StageTime[] {
  return p.stats().stages.map((s) => ({
    stage: s.name,
    outsideNsPerEvent: s.eventsIn === 0 ? 0 : ((s.busyMs - s.handlerMs) * 1e6) / s.eventsIn,
    handlerSharePct: s.busyMs === 0 ? 0 : (100 * s.handlerMs) / s.busyMs,
  }));
}

export async function openRing(settings: LinearSettings, n: number): Promise<RunSession> {
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
          if (stage.errors !== 0 || stage.restarts !== 0)
            throw new BenchFailure(`ring: stage ${stage.name} had ${stage.errors} errors, ${stage.restarts} restarts`);
        }
      },
      close: () => p.close(),
    };
  } catch (error) {
    await p.close();
    throw error;
  }
}

/**
 * Warm-up run, then `runs` measured runs on one pipeline; checks nothing else came out.
 * `before` runs before each measured run (an interleaved baseline: this machine's speed
 * drifts by a few % from one second to the next, so a baseline measured minutes away
 * would be worth less than the overhead it is compared with).
 */
export async function measureRing(
  settings: LinearSettings,
  n: number,
  runs: number,
  before?: () => void | Promise<void>,
  tick?: (line: string) => void,
  times?: (t: StageTime[]) => void,
): Promise<number[]> {
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
