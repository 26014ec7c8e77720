// pipeline3-trivial: three stages passing each event on (a number: the smallest MessagePack
// event), main thread → stage 1 → stage 2 → stage 3 → main thread, over the ring's pipeline
// (createPipeline, a ring per stage) and, for scale, the same chain over postMessage (per
// event, and arrays of 256) and piscina tasks (per event, and arrays of 256). Every event is
// checked at the output: each id exactly once, in order where the transport keeps it.
// Transports are measured in rounds; the ratios are ring ÷ this within the run.
import os from 'node:os';
import { target } from '../flow.js';
import { GOALS, measuredRuns, minMax, pipelineScenario, type ScenarioOptions } from '../pipeline/suite.js';
import { median, rateText, type RunSession, type StageTime } from '../pipeline/runs.js';
import { type Row, ORIGINAL_OPS_PER_SEC } from '../scenario.js';
import { type LinearSettings, openRing } from '../transports/pipeline-ring.js';
import { openPostMessageChain } from '../transports/pipeline-postmessage.js';
import { openPoolChain, tinypoolPool } from '../transports/pipeline-pools.js';

const NAME = 'pipeline3-trivial';

/**
 * Settings of the ring variant. Tried (3 trivial stages, 500k numbers per run, median of 3,
 * while another process kept one core busy, so only coarse differences count): stage
 * batchSize 256 → 1.15M, 1024 → 1.05M, 4096 → 0.95M events/s; stage rings 256 KiB / 1 MiB /
 * 4 MiB and publish chunks of 1,000 / 4,096 / 16,384 all within the noise (0.7–1.3M).
 * Kept batchSize 1024, 1 MiB, 4,096 (1.80M events/s in a full run on the idle machine;
 * 256 was not re-measured idle).
 */
const RING_TRIVIAL: LinearSettings = { stages: 3, module: 'trivial', batchSize: 1024, capacity: 1 << 20, publishChunk: 4096 };

/** The same with records handlers that pass each batch on in one forward(), numbers as 8-byte raw records. */
const RING_TRIVIAL_RECORDS: LinearSettings = { ...RING_TRIVIAL, module: 'trivial-records', codec: 'raw' };

/** The same with batch handlers that pass each batch's values on in one emitMany(). */
const RING_TRIVIAL_BATCH: LinearSettings = { ...RING_TRIVIAL, module: 'trivial-batch', codec: 'raw' };

const TRIVIAL_TRANSPORTS = [
  'ring',
  'ring-batchValues',
  'ring-perEvent',
  'postMessage',
  'postMessage-batch',
  'piscina',
  'piscina-batch',
  'tinypool-batch',
] as const;
type TrivialTransport = (typeof TRIVIAL_TRANSPORTS)[number];

interface TrivialResult {
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

interface Pipeline3TrivialResult {
  name: 'pipeline3-trivial';
  results: TrivialResult[];
  cores: number;
}

/**
 * pipeline3-trivial: three stages passing each event on, over the ring and, for scale, the
 * same chain over postMessage (per event, and in arrays of 256) and over piscina tasks.
 * Every transport is opened first, then measured in rounds (a warm-up round, then run i of
 * every transport before run i + 1 of any), so the ratios compare runs made under the same
 * conditions on this shared machine.
 */
async function runPipeline3Trivial(options: ScenarioOptions): Promise<Pipeline3TrivialResult> {
  const { quick = false, transports, tick } = options;
  const runs = measuredRuns(options);
  const n = quick ? 300_000 : 1_000_000;
  const pm = quick ? 100_000 : 300_000;
  const pn = quick ? 20_000 : 50_000;
  const s = RING_TRIVIAL;
  const ordered = 'each id exactly once, in order';
  const unordered = 'each id exactly once (piscina does not keep order)';
  const plans: { transport: TrivialTransport; how: string; n: number; checked: string; busyThreads: number; open: () => Promise<RunSession> }[] = [
    {
      transport: 'ring',
      how: `3 stage workers with records handlers (one forward() per batch: records copied ring to ring, no value per event), numbers as 8-byte raw records, batchSize ${s.batchSize}, rings of ${s.capacity >> 10} KiB, publishBatchAsync of ${s.publishChunk}, output read with pollRaw + waitAsync`,
      n,
      checked: ordered,
      busyThreads: 4,
      open: () => openRing(RING_TRIVIAL_RECORDS, n),
    },
    {
      transport: 'ring-batchValues',
      how: `3 stage workers with batch handlers that get the values (views of the 8-byte raw records) and pass them on in one emitMany() per batch, batchSize ${s.batchSize}, rings of ${s.capacity >> 10} KiB, publishBatchAsync of ${s.publishChunk}, output read with pollRaw + waitAsync`,
      n,
      checked: ordered,
      busyThreads: 4,
      open: () => openRing(RING_TRIVIAL_BATCH, n),
    },
    {
      transport: 'ring-perEvent',
      how: `3 stage workers with per-event handlers (one emit() per event), MessagePack numbers, batchSize ${s.batchSize}, rings of ${s.capacity >> 10} KiB, publishBatchAsync of ${s.publishChunk}, output read with poll + waitAsync`,
      n,
      checked: ordered,
      busyThreads: 4,
      open: () => openRing(s, n),
    },
    {
      transport: 'postMessage',
      how: '3 workers chained by MessageChannels, one number per message, ≤ 16,384 events in flight',
      n: pm,
      checked: ordered,
      busyThreads: 4,
      open: () => openPostMessageChain(undefined, pm, 16_384),
    },
    {
      transport: 'postMessage-batch',
      how: '3 workers chained by MessageChannels, arrays of 256 numbers per message, ≤ 16,384 events in flight',
      n,
      checked: ordered,
      busyThreads: 4,
      open: () => openPostMessageChain(256, n, 16_384),
    },
    {
      transport: 'piscina',
      how: 'one pool of 2 threads, 3 pool.run() calls in sequence per event, 64 events in flight',
      n: pn,
      checked: unordered,
      busyThreads: 3,
      open: () => openPoolChain(undefined, pn, 64),
    },
    {
      transport: 'piscina-batch',
      how: 'one pool of 2 threads, 3 pool.run() calls in sequence per array of 256 events, 8 arrays in flight',
      n,
      checked: unordered,
      busyThreads: 3,
      open: () => openPoolChain(256, n, 8),
    },
    {
      transport: 'tinypool-batch',
      how: 'tinypool, as piscina-batch: one pool of 2 threads, 3 pool.run() calls in sequence per array of 256 events, 8 arrays in flight',
      n,
      checked: 'each id exactly once (tinypool does not keep order)',
      busyThreads: 3,
      open: () => openPoolChain(256, n, 8, tinypoolPool),
    },
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
    const results: TrivialResult[] = chosen.map((p, i) => ({
      transport: p.transport,
      how: p.how,
      eventsPerSec: median(rates[i]),
      runs: rates[i],
      eventsPerRun: p.n,
      checked: p.checked,
      busyThreads: p.busyThreads,
      stages: sessions[i].stageTimes?.(),
    }));
    return { name: 'pipeline3-trivial', results, cores: os.availableParallelism() };
  } finally {
    for (const session of sessions) await session.close().catch(() => undefined);
  }
}

export default pipelineScenario({
  name: NAME,
  title: 'a 3-stage pipeline of trivial stages (numbers), main thread in and out: ring vs postMessage vs piscina and tinypool',
  kind: 'throughput',
  ringOnly: false,
  steps: (options) => TRIVIAL_TRANSPORTS.filter((t) => !options.transports || options.transports.includes(t)).length * (1 + measuredRuns(options)),
  async run(options) {
    const r = await runPipeline3Trivial(options);
    const ring = r.results.find((x) => x.transport === 'ring');
    const perEvent = r.results.find((x) => x.transport === 'ring-perEvent');
    const pmBatch = r.results.find((x) => x.transport === 'postMessage-batch');
    const rows: Row[] = r.results.map((x) => ({
      transport: x.transport,
      how: x.how,
      eventsPerSec: x.eventsPerSec,
      ...minMax(x.runs),
      runs: x.runs,
      ...(ring && { ringRatio: ring.eventsPerSec / x.eventsPerSec }),
      busyThreads: x.busyThreads,
      extra: {
        eventsPerRun: x.eventsPerRun,
        checked: x.checked,
        ...(x.stages && {
          outsideNsPerEvent: Object.fromEntries(x.stages.map((t) => [t.stage, Math.round(t.outsideNsPerEvent)])),
          handlerSharePct: Object.fromEntries(x.stages.map((t) => [t.stage, Math.round(t.handlerSharePct * 10) / 10])),
        }),
      },
    }));
    const targets: ReturnType<typeof target>[] = ring
      ? [
          target(`${NAME}: ring ≥ the ${ORIGINAL_OPS_PER_SEC.toLocaleString('en')} ops/s target`, ring.eventsPerSec, ORIGINAL_OPS_PER_SEC, 'events/s'),
          target(
            `${NAME}: ring ≥ ${GOALS.pipeline3TrivialEventsPerSec.toLocaleString('en')} events/s`,
            ring.eventsPerSec,
            GOALS.pipeline3TrivialEventsPerSec,
            'events/s',
          ),
          ...(pmBatch ? [target(`${NAME}: ring (batch handlers) ≥ 2× postMessage-batch`, ring.eventsPerSec / pmBatch.eventsPerSec, 2, '×')] : []),
        ]
      : [];
    if (perEvent && pmBatch) targets.push(target(`${NAME}: ring-perEvent ≥ 1× postMessage-batch`, perEvent.eventsPerSec / pmBatch.eventsPerSec, 1, '×'));
    const times = r.results
      .filter((x) => x.stages)
      .map(
        (x) =>
          `${x.transport}: ns per event outside the handler ${x.stages!.map((t) => `${t.stage} ${Math.round(t.outsideNsPerEvent)}`).join(', ')} (wall time of each stage's batches, read to commit, less the time in its handler; per-event handlers: one call in 16 timed)`,
      );
    const notes = [
      ...times,
      `${r.cores} cores: 3 stage workers (or piscina's 2 pool threads) and the main thread, which publishes and reads the output, share them; every row is bounded by the cores`,
      'the -batch rows hand the chain arrays of 256 numbers (what a user of postMessage or piscina would do for throughput); the ring batches on its own (publishBatchAsync in, stage batches of up to 1024)',
    ];
    return { rows, targets, notes };
  },
});
