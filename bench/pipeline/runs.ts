// What the pipeline scenarios' chains share (bench/transports/pipeline-*.ts): the session
// a chain opens for measured runs, the ids they move, and where the stage modules are.
import { summarize } from '../harness.js';

/** A chain opened for measured runs: run() moves and checks one run's events. */
export interface RunSession {
  run(): Promise<number>;
  /** The checks after the last run (nothing else came out, no errors or restarts). */
  finish(): Promise<void>;
  /** Ring pipelines: where each stage's time went, over every run so far (call after finish()). */
  stageTimes?(): StageTime[];
  close(): Promise<void>;
}

/** Where a stage's busy time went, per event (from stats(): busyMs and handlerMs). */
export interface StageTime {
  stage: string;
  /** ns per event the stage's worker spent on its batches outside the handler: reading, decoding, routing, encoding, publishing, committing its cursor. */
  outsideNsPerEvent: number;
  /** Share of the worker's busy time (reading a batch to its cursor commit) spent inside the handler, %. */
  handlerSharePct: number;
}

/** A stage module of bench/pipeline/stages/. */
export const stageUrl = (name: string) => new URL(`./stages/${name}.js`, import.meta.url);

export const median = (values: readonly number[]): number => summarize(values).median;

export const rateText = (x: number) => `${Math.round(x).toLocaleString('en')} events/s`;

/** Ids are never reused within a process, so an event left over from an earlier run cannot pass a check. */
let nextId = 0;
export function takeIds(n: number): number {
  const base = nextId;
  nextId += n;
  return base;
}

/** The ids of a run in chunks. A plain loop: Array.from with a map function took a fifth of the main thread's time per event, for every transport. */
export function chunked(base: number, n: number, size: number): number[][] {
  const chunks: number[][] = [];
  for (let start = 0; start < n; start += size) {
    const chunk: number[] = [];
    for (let id = base + start, end = base + Math.min(n, start + size); id < end; id++) chunk.push(id);
    chunks.push(chunk);
  }
  return chunks;
}
