// topology-1000: describePipeline() of 1,000 stage declarations (50 flows of 20 stages with
// fan-outs, joins across flows, self-loops and 2-stage loops; see topologyDeclarations()
// below): deriving the graph, its cycles and every validation. Warm-up,
// then the median of 20 calls (quick: 10).
import { describePipeline, type StageDeclaration } from 'ringbus';
import { target } from '../flow.js';
import { BenchFailure } from '../harness.js';
import { median, stageUrl } from '../pipeline/runs.js';
import { GOALS, minMax, ms, pipelineScenario, type ScenarioOptions } from '../pipeline/suite.js';

const NAME = 'topology-1000';
const ORIGINAL_MS = 100;

/**
 * 1,000 stage declarations in 50 flows of 20 stages, each flow: a chain of 4 from one of
 * 10 shared inputs, a fan-out into 3 branches of 2 stages, a join of the 3 (which also
 * takes a link from the previous flow's join, so flows are not independent) feeding two
 * stages (an audit tap to a shared output, and a stage with a self-loop: retries), a
 * 2-stage loop (ask/answer), and a chain of 5 to one of 4 shared outputs.
 */
function topologyDeclarations(): { stages: StageDeclaration[]; inputs: string[]; outputs: string[] } {
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

interface TopologyResult {
  name: 'topology-1000';
  /** Median ms of describePipeline() for the 1,000 stages. */
  ms: number;
  runs: number[];
  stages: number;
  edges: number;
  cycles: number;
}

/** topology-1000: derive and validate 1,000 stages with describePipeline(); warm-up, then the median of 20 (quick: 10). */
async function runTopology1000({ quick = false, tick }: ScenarioOptions = {}): Promise<TopologyResult> {
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

export default pipelineScenario({
  name: NAME,
  title: 'deriving and validating the topology of 1,000 stages (describePipeline)',
  kind: 'pipeline',
  ringOnly: true,
  steps: () => 1,
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
          extra: {
            ms: Math.round(t.ms * 1000) / 1000,
            runsMs: t.runs.map((x) => Math.round(x * 1000) / 1000),
            stages: t.stages,
            edges: t.edges,
            cycles: t.cycles,
          },
        },
      ],
      targets: [
        target(`${NAME}: describePipeline of 1,000 stages < ${GOALS.topology1000Ms} ms`, t.ms, GOALS.topology1000Ms, 'ms', 'lower'),
        target(`${NAME}: < the original ${ORIGINAL_MS} ms`, t.ms, ORIGINAL_MS, 'ms', 'lower'),
      ],
      notes: [],
    };
  },
});
