// What a scenario is, and the builder for the common kind: the same payload and shape over
// several transports, throughput measured in rounds. See docs/BENCHMARKS.md to add one.
import type { FlowSpec, RunContext, Session, Shape, Target, TransportUse } from './flow.js';
import { target } from './flow.js';
import { measureRounds, type Measurement, type RunPlan } from './measure.js';
import type { PayloadKind } from './payload.js';

/** One transport's figures in a scenario: a table row and a JSON `scenarios` entry. */
export interface Row {
  transport: string;
  how: string;
  /** The median; for latency rows the offered (or round-trip) rate. */
  eventsPerSec: number;
  min: number;
  max: number;
  runs: number[];
  /** The scenario's ring figure ÷ this row's (computed in the same run). */
  ringRatio?: number;
  p50us?: number;
  p90us?: number;
  p99us?: number;
  p999us?: number;
  maxus?: number;
  busyThreads?: number;
  /** Kind 'pipeline': the row's figure in words (overhead %, ms), the table's `result` column. */
  result?: string;
  /** More JSON fields. */
  extra?: Record<string, unknown>;
}

export interface ScenarioResult {
  name: string;
  title: string;
  kind: Scenario['kind'];
  rows: Row[];
  targets: Target[];
  /** Lines printed under the table (warnings included). */
  notes: string[];
  /** Micro-cost rows (kind 'micro'). */
  micro?: MicroRow[];
}

export interface MicroRow {
  name: string;
  nsPerOp: number;
  opsPerSec: number;
  /** Relative margin of error of the mean, in %. */
  rme: number;
  samples: number;
  detail: string;
}

export interface ScenarioContext extends RunContext {
  plan: RunPlan;
  /** Run only these transports (--transport), or all. */
  transports?: readonly string[];
  /** Progress: one call per run. */
  tick(label: string, line: string): void;
}

export interface Scenario {
  name: string;
  title: string;
  /** 'pipeline': a figure in ms or % per row (Row.result), not events/s bars; 'cpu': the same, without events/s. */
  kind: 'throughput' | 'latency' | 'micro' | 'pipeline' | 'cpu';
  /** Progress steps (runs) this scenario takes. */
  steps(ctx: Pick<ScenarioContext, 'plan' | 'transports' | 'quick'>): number;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}

/** The original throughput target (docs/BENCHMARKS.md), applied to every scenario's ring figure. */
export const ORIGINAL_OPS_PER_SEC = 50_000;

export interface ThroughputDefinition {
  name: string;
  title: string;
  payload: PayloadKind;
  shape: Shape;
  transports: TransportUse[];
  /** The scenario's own targets, from its rows (by transport name). */
  targets?: (rows: ReadonlyMap<string, Row>) => Target[];
  notes?: string[];
}

export function throughputScenario(def: ThroughputDefinition): Scenario {
  const spec: FlowSpec = { scenario: def.name, payload: def.payload, shape: def.shape };
  const chosen = (transports?: readonly string[]) =>
    def.transports.filter((t) => (t.fits?.(spec) ?? true) && (!transports || transports.includes(t.transport)));
  return {
    name: def.name,
    title: def.title,
    kind: 'throughput',
    steps: (ctx) => chosen(ctx.transports).length * (ctx.plan.warmups + ctx.plan.runs),
    async run(ctx: ScenarioContext): Promise<ScenarioResult> {
      const sessions: Session[] = [];
      try {
        for (const t of chosen(ctx.transports)) sessions.push(await t.open(spec, ctx));
      } catch (err) {
        await Promise.all(sessions.map((s) => s.abort().catch(() => undefined)));
        throw err;
      }
      const measured = await measureRounds(sessions, ctx.plan, (label, line) => ctx.tick(`${def.name} ${label}`, line));
      const rows = sessions.map((s, i) => rowOf(s, measured[i]));
      const ring = rows.find((r) => r.transport === 'ring');
      if (ring) for (const r of rows) r.ringRatio = ring.eventsPerSec / r.eventsPerSec;
      const byName = new Map(rows.map((r) => [r.transport, r]));
      const targets: Target[] = [];
      if (ring)
        targets.push(
          target(`${def.name}: ring ≥ the ${ORIGINAL_OPS_PER_SEC.toLocaleString('en')} ops/s target`, ring.eventsPerSec, ORIGINAL_OPS_PER_SEC, 'events/s'),
        );
      targets.push(...(def.targets?.(byName) ?? []));
      const notes = [...(def.notes ?? [])];
      const crowded = sessions.filter((s) => s.busyThreads > ctx.cores);
      if (crowded.length > 0) {
        notes.push(
          `warning: ${crowded.map((s) => `${s.transport} runs ${s.busyThreads}`).join(', ')} busy threads on ${ctx.cores} cores: ` +
            `the ring waits with '${ctx.wait === 'spin' ? 'yield' : ctx.wait}' there, and these figures are bounded by the cores, not the transport`,
        );
      }
      return { name: def.name, title: def.title, kind: 'throughput', rows, targets, notes };
    },
  };
}

function rowOf(s: Session, m: Measurement): Row {
  return {
    transport: s.transport,
    how: s.how,
    eventsPerSec: m.eventsPerSec,
    min: m.min,
    max: m.max,
    runs: m.runs,
    busyThreads: s.busyThreads,
    extra: {
      ...s.details,
      seconds: m.seconds,
      eventsPerRun: m.eventsPerRun,
      ...(m.producerShare !== undefined && { producerShare: round(m.producerShare, 3) }),
      ...(m.readerWaitMs !== undefined && { readerWaitMs: round(m.readerWaitMs, 1), producerWaitMs: round(m.producerWaitMs!, 1) }),
      otherProcessesCores: m.otherCores,
    },
  };
}

export function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** `a ÷ b ≥ goal` as a target; absent rows give no target. */
export function ratioTarget(name: string, rows: ReadonlyMap<string, Row>, a: string, b: string, goal: number): Target[] {
  const ra = rows.get(a);
  const rb = rows.get(b);
  if (!ra || !rb) return [];
  return [
    target(
      name,
      ra.eventsPerSec / rb.eventsPerSec,
      goal,
      '×',
      'higher',
      `${a} ${ra.eventsPerSec.toFixed(0)} / ${b} ${rb.eventsPerSec.toFixed(0)} events/s, medians of one run`,
    ),
  ];
}
