// The pipeline scenarios (bench/scenarios/pipeline3-trivial, overhead-20us, overhead-2us,
// topology-1000, heal; overhead.ts builds the two overhead ones) as the suite's Scenarios:
// progress ticks, the --quick / --runs / --transport settings passed through, the other
// processes' load noted, and the rows and targets in the suite's shape.
//
// How they measure (docs/BENCHMARKS.md, "The pipeline scenarios"):
// - Every event is checked at the end of a run: each id exactly once at the output, in the
//   producer's order where the transport keeps it; a run that loses, duplicates, reorders
//   or corrupts an event throws BenchFailure instead of reporting a figure.
// - A run is timed from the first publish to the last event consumed, on the main thread's
//   monotonic clock. One warm-up run, then the median of N runs (quick: fewer, smaller);
//   pipeline3-trivial's transports in rounds (run i of each before run i + 1 of any).
// - The machine has 2 cores: stage workers use the pipeline's default 'block' wait; the
//   main thread publishes with publishBatchAsync and reads the output ring with poll +
//   waitAsync, as an application would.
import type { Target } from '../flow.js';
import { LoadMeter } from '../harness.js';
import type { Row, Scenario, ScenarioContext, ScenarioResult } from '../scenario.js';

export interface ScenarioOptions {
  quick?: boolean;
  /** Measured runs after the warm-up (pipeline3-trivial, overhead-*); default 3 quick, 5 full. */
  runs?: number;
  /** pipeline3-trivial: run only these transports (default: all). */
  transports?: readonly string[];
  /** Progress: called once per run (warm-ups included), per topology measurement, per heal. */
  tick?: (label: string, line: string) => void;
}

/** The goals: the targets of the suite's pipeline scenarios (bench/scenarios/). */
export const GOALS = {
  pipeline3TrivialEventsPerSec: 1_000_000,
  overhead20usPct: 1,
  overhead2usPct: 2,
  topology1000Ms: 10,
  healP99Ms: 5,
} as const;

/** Measured runs after the warm-up: --runs, else 3 quick, 5 full. */
export const measuredRuns = ({ quick = false, runs }: ScenarioOptions): number => runs ?? (quick ? 3 : 5);

export interface PipelineDefinition {
  name: string;
  title: string;
  /** 'throughput': events/s bars and ratios (pipeline3-trivial); 'pipeline': one figure per row in ms or % (the `result` column). */
  kind: 'throughput' | 'pipeline';
  /** The scenario measures the ring alone: skipped when --transport leaves 'ring' out. */
  ringOnly: boolean;
  /** Progress ticks it takes with these options (the suite's progress bar); none if left out. */
  steps?(options: ScenarioOptions): number;
  run(options: ScenarioOptions): Promise<{ rows: Row[]; targets: Target[]; notes: string[] }>;
}

function skipped(def: PipelineDefinition, ctx: Pick<ScenarioContext, 'transports'>): boolean {
  return def.ringOnly && ctx.transports !== undefined && !ctx.transports.some((t) => t === 'ring' || t.startsWith('ring-'));
}

export function pipelineScenario(def: PipelineDefinition): Scenario {
  const options = (ctx: Pick<ScenarioContext, 'plan' | 'transports' | 'quick'>): ScenarioOptions => ({
    quick: ctx.quick,
    runs: ctx.plan.runs,
    transports: ctx.transports,
  });
  return {
    name: def.name,
    title: def.title,
    kind: def.kind,
    steps: (ctx) => (skipped(def, ctx) ? 0 : (def.steps?.(options(ctx)) ?? 0)),
    async run(ctx): Promise<ScenarioResult> {
      if (skipped(def, ctx))
        return { name: def.name, title: def.title, kind: def.kind, rows: [], targets: [], notes: ['skipped: --transport leaves out the ring'] };
      const meter = new Meter();
      const { rows, targets, notes } = await def.run({ ...options(ctx), tick: (label, line) => ctx.tick(`${def.name} ${label}`, line) });
      const other = meter.otherCores();
      for (const r of rows) r.extra = { ...r.extra, otherProcessesCores: Math.round(other * 100) / 100 };
      // a scenario shorter than a second (topology-1000) is below the meter's resolution
      if (other > 0.25 && meter.seconds() >= 1)
        notes.push(
          `warning: other processes kept ${other.toFixed(2)} of ${ctx.cores} cores busy while this scenario ran: its figures are not this code's alone`,
        );
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
