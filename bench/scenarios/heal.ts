// heal: a 3-stage pipeline carries a steady stream while a stage worker dies every 150 ms,
// in turn over the stages (30 deaths; quick: 10), twice: by process.exit() inside the
// handler (a marker event) and by pipeline.kill() from outside. Heal time, from the
// pipeline's stats().heal: from the death to the replacement's first handled event. Every
// event must come out at least once (the dead worker's uncommitted batch comes out again).
import { target } from '../flow.js';
import { GOALS, ms, pipelineScenario } from '../pipeline/suite.js';
import { runHeal } from '../pipeline/scenarios.js';
import type { Row } from '../scenario.js';

const NAME = 'heal';
const SEED_MS = 10;

export default pipelineScenario({
  name: NAME,
  title: 'healing: a stage worker dies every 150 ms under a steady stream; time to the replacement\'s first event',
  kind: 'pipeline',
  ringOnly: true,
  async run(options) {
    const rows: Row[] = [];
    const targets = [];
    for (const how of ['exit', 'terminate'] as const) {
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
      targets.push(target(`${NAME} (${how}): p99 < ${GOALS.healP99Ms} ms`, h.p99Ms, GOALS.healP99Ms, 'ms', 'lower'));
      targets.push(target(`${NAME} (${how}): p99 < the seed's ${SEED_MS} ms`, h.p99Ms, SEED_MS, 'ms', 'lower'));
    }
    return {
      rows,
      targets,
      notes: ['events/s of these rows: the stream the pipeline carried meanwhile (batches of 50 about every millisecond); the p99 of 10 heals (quick) is their maximum'],
    };
  },
});

const round3 = (x: number) => Math.round(x * 1000) / 1000;
