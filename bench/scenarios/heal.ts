// heal: a 3-stage pipeline carries a steady stream while a stage worker dies every 150 ms,
// in turn over the stages (100 deaths, so that the p99 is not simply the worst heal; quick: 10), with 3 standbys, five ways: by process.exit()
// inside the handler (a marker event), by pipeline.kill() from outside, by a handler looping
// past its handlerTimeoutMs, by pipeline.kill() with no standby (cold: 10 deaths 500 ms apart),
// and by pipeline.kill() 20 to 250 ms apart while every stage is busy (loaded: 20 µs of work
// per event; again with the default standby: 1). Heal time, from the pipeline's
// stats().heal: from the death to the replacement's first handled event. Every event must
// come out at least once (the dead worker's uncommitted batch comes out again).
import { createPipeline } from 'ringbus';
import { target } from '../flow.js';
import { BenchFailure } from '../harness.js';
import { stageUrl } from '../pipeline/runs.js';
import type { HealEvent } from '../pipeline/stages/die-on.js';
import { GOALS, ms, pipelineScenario, type ScenarioOptions } from '../pipeline/suite.js';
import { calibrate } from '../pipeline/work.js';
import type { Row } from '../scenario.js';

const NAME = 'heal';
const ORIGINAL_MS = 10;

interface HealResult {
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
 * Deaths per run of one `how` (cold ones, each a new thread, fewer and further apart). 100,
 * not fewer: the p99 (nearest rank) of 30 heals was their maximum, one descheduled heal in
 * 30; of 100 it is the second worst, and the maximum is reported beside it.
 */
/** The rows --transport asks for (ring-exit, ring-loaded, ...), or all. */
const chosenHows = (transports: readonly string[] | undefined) => HEAL_HOWS.filter((how) => transports === undefined || transports.includes(`ring-${how}`));

const healCrashes = (quick: boolean, how: HealHow = 'exit') => (how === 'cold' ? (quick ? 5 : 10) : quick ? 10 : 100);

/**
 * How the heal scenario's workers die: 'exit' (process.exit() in the handler), 'terminate'
 * (pipeline.kill()), 'timeout' (a handler looping past the stages' handlerTimeoutMs,
 * HANDLER_TIMEOUT_MS), 'cold' (pipeline.kill() with no standby: a new worker every time),
 * 'loaded' (pipeline.kill() 20 to 250 ms apart, at random, while every stage does 20 µs of work per
 * event: with the stream's rate, more work than the machine's cores can do, so every stage
 * is busy and deaths come faster than one standby can be replaced).
 */
const HEAL_HOWS = ['exit', 'terminate', 'timeout', 'cold', 'loaded', 'loaded-standby1'] as const;
type HealHow = (typeof HEAL_HOWS)[number];

/**
 * Standbys per run: the pool a user sizes for deaths this close together. A standby takes
 * 100–500 ms to start on this machine under the stream (a worker's boot and imports, most
 * of it), so deaths 150 ms apart (or 20 ms, loaded) outrun a pool of one: the heal of a
 * death that finds no standby ready waits for one still starting. Three cover 450 ms of
 * starting. 'loaded-standby1' runs the loaded row with the default, standby: 1, for what a
 * pool too small costs (the pool grows after such a death, up to 3 more).
 */
const STANDBYS: Record<HealHow, number> = { exit: 3, terminate: 3, timeout: 3, cold: 0, loaded: 3, 'loaded-standby1': 1 };

const HANDLER_TIMEOUT_MS = 100;

/**
 * One run of the heal scenario: a 3-stage pipeline carries a steady stream (batches of 50
 * events every millisecond or so: about 35,000 events/s) while a stage worker dies every
 * 150 ms, `crashes` times, in turn over the 3 stages, the way `how` says (HEAL_HOWS). Heal
 * times come from the pipeline (stats().heal, healMs per stage): from the death to the
 * replacement's first handled event. At the end every id must have come out at least once
 * (at-least-once: the dead worker's uncommitted batch comes out again).
 */
async function runHeal({ quick = false, how = 'exit', tick }: ScenarioOptions & { how?: HealHow } = {}): Promise<HealResult> {
  const crashes = healCrashes(quick, how);
  // a cold start takes 75–250 ms here: deaths further apart, so that each heal is alone
  const spacingMs = how === 'cold' ? 500 : 150;
  let seed = 20250;
  const loaded = how === 'loaded' || how === 'loaded-standby1';
  const spacing = () => (loaded ? 20 + ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % 231) : spacingMs);
  const iterations = loaded ? calibrate(20).iterations : undefined;
  const flags = new Int32Array(new SharedArrayBuffer(4 * crashes));
  const names = ['a', 'b', 'c'];
  const topic = (i: number) => (i === 0 ? 'in' : i === 3 ? 'out' : `t${i}`);
  const batchSize = 256;
  const p = createPipeline({
    inputs: ['in'],
    outputs: ['out'],
    standby: STANDBYS[how],
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
        exit: `${crashes} deaths by process.exit() inside the handler (a marker event), one every ${spacingMs} ms over 3 stages, standby: ${STANDBYS[how]}, under a stream of ${Math.round(streamEventsPerSec)} events/s; from the death to the replacement's first event`,
        terminate: `${crashes} pipeline.kill() (worker.terminate()) one every ${spacingMs} ms over 3 stages, standby: ${STANDBYS[how]}, under a stream of ${Math.round(streamEventsPerSec)} events/s; from the kill() call to the replacement's first event`,
        timeout: `${crashes} handlers looping for ever on a marker event, stages with handlerTimeoutMs ${HANDLER_TIMEOUT_MS}, one every ${spacingMs} ms over 3 stages, standby: ${STANDBYS[how]}, under a stream of ${Math.round(streamEventsPerSec)} events/s; from the supervisor's terminating the worker to the replacement's first event (the ${HANDLER_TIMEOUT_MS} ms before it are the limit, not the heal)`,
        loaded: `${crashes} pipeline.kill() 20 to 250 ms apart (at random) over 3 stages each doing 20 µs of work per event (${iterations} iterations of work()), standby: ${STANDBYS[how]}, under a stream of ${Math.round(streamEventsPerSec)} events/s: every stage busy; from the kill() call to the replacement's first event`,
        'loaded-standby1': `the same as ring-loaded with the default standby: 1 (the pool grows after deaths that found none ready); no target: a death 20 ms after another waits for a standby's start`,
        cold: `${crashes} pipeline.kill() with standby: 0 (a new worker each time), one every ${spacingMs} ms over 3 stages, standby: ${STANDBYS[how]}, under a stream of ${Math.round(streamEventsPerSec)} events/s; from the kill() call to the new worker's first event`,
      }[how],
    };
  } finally {
    await p.close();
  }
}

export default pipelineScenario({
  name: NAME,
  title: "healing: a stage worker dies every 150 ms under a steady stream; time to the replacement's first event",
  kind: 'pipeline',
  ringOnly: true,
  steps: ({ quick = false, transports }) => chosenHows(transports).reduce((sum, how) => sum + healCrashes(quick, how), 0),
  async run(options) {
    const rows: Row[] = [];
    const targets = [];
    for (const how of chosenHows(options.transports)) {
      const h = await runHeal({ ...options, how });
      const transport = `ring-${how}`;
      rows.push({
        transport,
        how: h.description,
        eventsPerSec: h.streamEventsPerSec,
        min: h.streamEventsPerSec,
        max: h.streamEventsPerSec,
        runs: [h.streamEventsPerSec],
        result: `p50 ${ms(h.p50Ms)}, p99 ${ms(h.p99Ms)}, max ${ms(h.maxMs)} over ${h.count} heals (${h.byStandby} by a warm standby); ${h.duplicates} redelivered, none lost`,
        extra: {
          p50Ms: round3(h.p50Ms),
          p99Ms: round3(h.p99Ms),
          maxMs: round3(h.maxMs),
          heals: h.count,
          byStandby: h.byStandby,
          healMsByStage: Object.fromEntries(Object.entries(h.byStage).map(([k, v]) => [k, v.map(round3)])),
          eventsPublished: h.eventsPublished,
          duplicates: h.duplicates,
        },
      });
      if (how === 'cold' || how === 'loaded-standby1') continue; // measured and stated (README), no target: a new thread loads its module
      if (how === 'loaded') {
        targets.push(target(`${NAME} (loaded): p99 < 10 ms`, h.p99Ms, 10, 'ms', 'lower'));
        continue;
      }
      targets.push(target(`${NAME} (${how}): p99 < ${GOALS.healP99Ms} ms`, h.p99Ms, GOALS.healP99Ms, 'ms', 'lower'));
      targets.push(target(`${NAME} (${how}): p99 < the original ${ORIGINAL_MS} ms`, h.p99Ms, ORIGINAL_MS, 'ms', 'lower'));
    }
    return {
      rows,
      targets,
      notes: [
        'events/s of these rows: the stream the pipeline carried meanwhile (batches of 50 about every millisecond); the p99 of 10 heals (quick) is their maximum',
      ],
    };
  },
});

const round3 = (x: number) => Math.round(x * 1000) / 1000;
