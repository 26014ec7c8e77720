// The pipeline scenarios (scenarios.ts) as the suite's Scenarios: progress ticks, the
// --quick / --runs / --transport settings passed through, the other processes' load noted,
// and the rows and targets in the suite's shape. bench/scenarios/{pipeline3-trivial,
// overhead-20us, overhead-2us, topology-1000, heal}.ts build on pipelineScenario().
import type { Target } from '../flow.js';
import { LoadMeter } from '../harness.js';
import type { Row, Scenario, ScenarioContext, ScenarioResult } from '../scenario.js';
import { pipelineSteps, type ScenarioOptions } from './scenarios.js';

export { GOALS } from './scenarios.js';

export interface PipelineDefinition {
  name: string;
  title: string;
  /** 'throughput': events/s bars and ratios (pipeline3-trivial); 'pipeline': one figure per row in ms or % (the `result` column). */
  kind: 'throughput' | 'pipeline';
  /** The scenario measures the ring alone: skipped when --transport leaves 'ring' out. */
  ringOnly: boolean;
  run(options: ScenarioOptions): Promise<{ rows: Row[]; targets: Target[]; notes: string[] }>;
}

function skipped(def: PipelineDefinition, ctx: Pick<ScenarioContext, 'transports'>): boolean {
  return def.ringOnly && ctx.transports !== undefined && !ctx.transports.includes('ring');
}

export function pipelineScenario(def: PipelineDefinition): Scenario {
  const options = (ctx: Pick<ScenarioContext, 'plan' | 'transports' | 'quick'>): ScenarioOptions => ({ quick: ctx.quick, runs: ctx.plan.runs, transports: ctx.transports });
  return {
    name: def.name,
    title: def.title,
    kind: def.kind,
    steps: (ctx) => (skipped(def, ctx) ? 0 : pipelineSteps(def.name, options(ctx))),
    async run(ctx): Promise<ScenarioResult> {
      if (skipped(def, ctx)) return { name: def.name, title: def.title, kind: def.kind, rows: [], targets: [], notes: ['skipped: --transport leaves out the ring'] };
      const meter = new Meter();
      const { rows, targets, notes } = await def.run({ ...options(ctx), tick: (label, line) => ctx.tick(`${def.name} ${label}`, line) });
      const other = meter.otherCores();
      for (const r of rows) r.extra = { ...r.extra, otherProcessesCores: Math.round(other * 100) / 100 };
      // a scenario shorter than a second (topology-1000) is below the meter's resolution
      if (other > 0.25 && meter.seconds() >= 1) notes.push(`warning: other processes kept ${other.toFixed(2)} of ${ctx.cores} cores busy while this scenario ran: its figures are not this code's alone`);
      return { name: def.name, title: def.title, kind: def.kind, rows, targets, notes };
    },
  };
}

class Meter extends LoadMeter {
  private readonly t0 = performance.now();
  seconds(): number {
    return (performance.now() - this.t0) / 1000;
  }
}

export function minMax(values: readonly number[]): { min: number; max: number } {
  return { min: Math.min(...values), max: Math.max(...values) };
}

export const ms = (x: number) => `${x >= 100 ? x.toFixed(0) : x.toFixed(2)} ms`;
