// Runs the sessions of one scenario in rounds: run i of every session before run i + 1 of
// any, so that a busy spell of the machine falls on all transports alike and their ratios
// stay meaningful. The warm-up round also sizes each transport's runs: n events such that a
// run lasts about `seconds` at the warm-up's rate (postMessage moves ~50x fewer events than
// the ring in the same time).
import { LoadMeter, roundUp, summarize, type Summary } from './harness.js';
import type { RunResult, Session } from './flow.js';

export interface RunPlan {
  warmups: number;
  runs: number;
  /** Target duration of one measured run. */
  seconds: number;
  /** Fixed events per run (overrides the sizing), or undefined. */
  events?: number;
}

export interface Measurement extends Summary {
  eventsPerSec: number;
  /** events/s of each measured run, in run order. */
  runs: number[];
  seconds: number[];
  eventsPerRun: number;
  producerShare?: number;
  readerWaitMs?: number;
  producerWaitMs?: number;
  /** Cores other processes kept busy, per measured run. */
  otherCores: number[];
}

const MAX_EVENTS = 64 << 20;

export async function measureRounds(sessions: readonly Session[], plan: RunPlan, tick: (label: string, line: string) => void): Promise<Measurement[]> {
  const results: (RunResult & { otherCores: number })[][] = sessions.map(() => []);
  const sizes = sessions.map((s) => plan.events ?? roundUp(s.guessRate * plan.seconds * 0.5, s.unit));
  try {
    for (let round = 0; round < plan.warmups + plan.runs; round++) {
      const warmup = round < plan.warmups;
      for (const [i, session] of sessions.entries()) {
        const load = new LoadMeter();
        const r = await session.run(sizes[i]);
        const otherCores = load.otherCores();
        const rate = r.events / r.seconds;
        tick(
          session.transport,
          `${warmup ? 'warm-up' : 'run'} ${(rate / 1e6).toFixed(3)}M events/s (${r.events} in ${r.seconds.toFixed(3)} s, other processes ${otherCores.toFixed(2)} cores)`,
        );
        if (warmup) {
          if (plan.events === undefined) sizes[i] = Math.min(MAX_EVENTS, roundUp(rate * plan.seconds, session.unit));
        } else {
          results[i].push({ ...r, otherCores });
        }
      }
    }
  } catch (err) {
    await Promise.all(sessions.map((s) => s.abort().catch(() => undefined)));
    throw err;
  }
  const finished = await Promise.allSettled(sessions.map((s) => s.finish()));
  const failed = finished.find((f): f is PromiseRejectedResult => f.status === 'rejected');
  if (failed) throw failed.reason;
  return sessions.map((_, i) => summarizeRuns(results[i]));
}

function median(values: (number | undefined)[]): number | undefined {
  if (values.some((v) => v === undefined) || values.length === 0) return undefined;
  return summarize(values as number[]).median;
}

function summarizeRuns(results: (RunResult & { otherCores: number })[]): Measurement {
  const runs = results.map((r) => r.events / r.seconds);
  const s = summarize(runs);
  const producerShare = median(results.map((r) => r.producerShare));
  const readerWaitMs = median(results.map((r) => r.readerWaitMs));
  const producerWaitMs = median(results.map((r) => r.producerWaitMs));
  return {
    ...s,
    eventsPerSec: s.median,
    runs,
    seconds: results.map((r) => r.seconds),
    eventsPerRun: results[0]?.events ?? 0,
    ...(producerShare !== undefined && { producerShare }),
    ...(readerWaitMs !== undefined && { readerWaitMs, producerWaitMs }),
    otherCores: results.map((r) => Math.round(r.otherCores * 100) / 100),
  };
}
