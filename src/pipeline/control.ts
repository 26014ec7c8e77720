/**
 * Shared memory between a pipeline's supervisor (the thread that created it) and its
 * workers: one Int32Array of control words and one Float64Array of statistics.
 *
 * Control words:
 *   [C_SPILL]                   events posted to the supervisor to re-enter a feedback loop
 *                               and not yet published again (a gauge drain() waits on)
 *   worker slot w (one per stage worker, stage by stage, member by member):
 *     [workerBase(w) + W_STOP]  1: finish the batch in hand, close the reader, exit
 *   standby slot s:
 *     [standbyWord(s, B_STATE)]  B_FREE (no standby, or its assignment was read), B_WAITING,
 *                                B_ASSIGNED (take over worker slot B_SLOT) or B_EXIT
 *     [standbyWord(s, B_SLOT)]   the worker slot to take over
 *
 * Statistics, per worker slot w, at statsBase(w) + field; written only by the worker that
 * holds the slot (the one replacing a dead worker continues its counts).
 */
export const C_SPILL = 0;
const HEADER_WORDS = 4;

export const W_STOP = 0;
const WORKER_WORDS = 2;

export const B_STATE = 0;
export const B_SLOT = 1;
const STANDBY_WORDS = 2;
export const B_FREE = 0;
export const B_WAITING = 1;
export const B_ASSIGNED = 2;
export const B_EXIT = 3;

export const S_IN = 0; // events handled (successfully or dead-lettered); a redelivered event counts again
export const S_OUT = 1; // events emitted
export const S_ERRORS = 2; // failed attempts
export const S_RETRIES = 3;
export const S_DEAD = 4; // events sent to the dead-letter topic
export const S_BATCHES = 5;
const STATS_FIELDS = 8;

export interface ControlBlock {
  readonly words: Int32Array;
  readonly stats: Float64Array;
  readonly workers: number;
  readonly standbys: number;
}

export function createControl(workers: number, standbys: number): ControlBlock {
  const words = new Int32Array(new SharedArrayBuffer((HEADER_WORDS + workers * WORKER_WORDS + standbys * STANDBY_WORDS) * 4));
  const stats = new Float64Array(new SharedArrayBuffer(Math.max(1, workers) * STATS_FIELDS * 8));
  return { words, stats, workers, standbys };
}

export function workerWord(worker: number, field: number): number {
  return HEADER_WORDS + worker * WORKER_WORDS + field;
}

export function standbyWord(control: ControlBlock, standby: number, field: number): number {
  return HEADER_WORDS + control.workers * WORKER_WORDS + standby * STANDBY_WORDS + field;
}

export function statsIndex(worker: number, field: number): number {
  return worker * STATS_FIELDS + field;
}
