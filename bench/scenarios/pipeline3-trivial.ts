// pipeline3-trivial: three stages passing each event on (a number: the smallest MessagePack
// event), main thread → stage 1 → stage 2 → stage 3 → main thread, over the ring's pipeline
// (createPipeline, a ring per stage) and, for scale, the same chain over postMessage (per
// event, and arrays of 256) and piscina tasks (per event, and arrays of 256). Every event is
// checked at the output: each id exactly once, in order where the transport keeps it.
// Transports are measured in rounds; the ratios are ring ÷ this within the run.
import { target } from '../flow.js';
import { GOALS, minMax, pipelineScenario } from '../pipeline/suite.js';
import { runPipeline3Trivial } from '../pipeline/scenarios.js';
import { type Row, SEED_OPS_PER_SEC } from '../scenario.js';

const NAME = 'pipeline3-trivial';

export default pipelineScenario({
  name: NAME,
  title: 'a 3-stage pipeline of trivial stages (numbers), main thread in and out: ring vs postMessage vs piscina and tinypool',
  kind: 'throughput',
  ringOnly: false,
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
        ...(x.stages && { outsideNsPerEvent: Object.fromEntries(x.stages.map((t) => [t.stage, Math.round(t.outsideNsPerEvent)])), handlerSharePct: Object.fromEntries(x.stages.map((t) => [t.stage, Math.round(t.handlerSharePct * 10) / 10])) }),
      },
    }));
    const targets: ReturnType<typeof target>[] = ring
      ? [
          target(`${NAME}: ring ≥ the ${SEED_OPS_PER_SEC.toLocaleString('en')} ops/s target`, ring.eventsPerSec, SEED_OPS_PER_SEC, 'events/s'),
          target(`${NAME}: ring ≥ ${GOALS.pipeline3TrivialEventsPerSec.toLocaleString('en')} events/s`, ring.eventsPerSec, GOALS.pipeline3TrivialEventsPerSec, 'events/s'),
          ...(pmBatch ? [target(`${NAME}: ring (batch handlers) ≥ 2× postMessage-batch`, ring.eventsPerSec / pmBatch.eventsPerSec, 2, '×')] : []),
        ]
      : [];
    if (perEvent && pmBatch) targets.push(target(`${NAME}: ring-perEvent ≥ 1× postMessage-batch`, perEvent.eventsPerSec / pmBatch.eventsPerSec, 1, '×'));
    const times = r.results
      .filter((x) => x.stages)
      .map((x) => `${x.transport}: ns per event outside the handler ${x.stages!.map((t) => `${t.stage} ${Math.round(t.outsideNsPerEvent)}`).join(', ')} (wall time of each stage's batches, read to commit, less the time in its handler; per-event handlers: one call in 16 timed)`);
    const notes = [
      ...times,
      `${r.cores} cores: 3 stage workers (or piscina's 2 pool threads) and the main thread, which publishes and reads the output, share them; every row is bounded by the cores`,
      'the -batch rows hand the chain arrays of 256 numbers (what a user of postMessage or piscina would do for throughput); the ring batches on its own (publishBatchAsync in, stage batches of up to 1024)',
    ];
    return { rows, targets, notes };
  },
});
