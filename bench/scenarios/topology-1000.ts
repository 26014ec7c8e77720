// topology-1000: describePipeline() of 1,000 stage declarations (50 flows of 20 stages with
// fan-outs, joins across flows, self-loops and 2-stage loops; see topologyDeclarations() in
// ../pipeline/scenarios.ts): deriving the graph, its cycles and every validation. Warm-up,
// then the median of 20 calls (quick: 10).
import { target } from '../flow.js';
import { GOALS, minMax, ms, pipelineScenario } from '../pipeline/suite.js';
import { runTopology1000 } from '../pipeline/scenarios.js';

const NAME = 'topology-1000';
const SEED_MS = 100;

export default pipelineScenario({
  name: NAME,
  title: 'deriving and validating the topology of 1,000 stages (describePipeline)',
  kind: 'pipeline',
  ringOnly: true,
  async run(options) {
    const t = await runTopology1000(options);
    const perSec = (m: number) => (t.stages * 1000) / m;
    const rates = t.runs.map(perSec);
    const { min, max } = minMax(t.runs);
    return {
      rows: [
        {
          transport: 'describePipeline',
          how: `${t.stages} stages, ${t.edges} edges, ${t.cycles} cycles; events/s here: stages derived per second`,
          eventsPerSec: perSec(t.ms),
          ...minMax(rates),
          runs: rates,
          result: `median ${ms(t.ms)} (${ms(min)}–${ms(max)}, ${t.runs.length} calls)`,
          extra: { ms: Math.round(t.ms * 1000) / 1000, runsMs: t.runs.map((x) => Math.round(x * 1000) / 1000), stages: t.stages, edges: t.edges, cycles: t.cycles },
        },
      ],
      targets: [
        target(`${NAME}: describePipeline of 1,000 stages < ${GOALS.topology1000Ms} ms`, t.ms, GOALS.topology1000Ms, 'ms', 'lower'),
        target(`${NAME}: < the original ${SEED_MS} ms`, t.ms, SEED_MS, 'ms', 'lower'),
      ],
      notes: [],
    };
  },
});
