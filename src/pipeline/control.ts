/**
 * Shared memory between a pipeline's supervisor (the thread that created it) and its
 * workers: one Int32Array of control words and one Float64Array of statistics.
 *
 * Control words:
 *   [C_VACANCY]   bumped, and notified, whenever a seat falls vacant: standbys sleep on it
 *   [C_SHUTDOWN]  1: standbys exit, and take no vacancy
 *   seat w (one per stage worker, stage by stage, member by member):
 *     [seatWord(w, SEAT_STOP)]   1: finish the batch in hand, close the reader, exit
 *     [seatWord(w, SEAT_OWNER)]  the threadId of the worker running the seat; a negative
 *                               reservation token, unique to one new worker, while it starts;
 *                               VACANT once its worker died: the first to swap in its own
 *                               threadId (a standby) or a token (the supervisor, starting a
 *                               new worker) takes the seat's reader over
 *     [seatWord(w, SEAT_CURSOR_LOCK)] the cursor lock: the threadId of the seat's worker while it
 *                               commits its reader's cursor, FENCING while the supervisor hands the seat
 *                               of a worker it is terminating over, 0 otherwise (commitCursorIfSeated())
 *
 * Statistics, per seat w, at statsIndex(w, field); written only by the worker that
 * holds the seat (a replacement continues the counts), but for STAT_DIED_AT.
 */
export const C_VACANCY = 0;
export const C_SHUTDOWN = 1;
const HEADER_WORDS = 4;

export const SEAT_STOP = 0;
export const SEAT_OWNER = 1;
export const SEAT_CURSOR_LOCK = 2;
const SEAT_WORDS = 3;
export const VACANT = 0;
/** The supervisor's mark in a cursor lock (worker threadIds are positive). */
export const FENCING = -1;

export const STAT_IN = 0; // events handled (successfully or dead-lettered); a redelivered event counts again
export const STAT_OUT = 1; // events emitted
export const STAT_ERRORS = 2; // failed attempts
export const STAT_RETRIES = 3;
export const STAT_DEAD = 4; // events sent to the dead-letter topic
export const STAT_DEAD_NO_VALUE = 5; // of those, letters sent without their value (too large for the dead-letter ring)
export const STAT_DIED_AT = 6; // wall-clock ms (timeOrigin + now) of the seat's last worker death
export const STAT_HANDLING = 7; // seq of the event whose handler is running, or -1; -2 - seq while a batch handler runs on a batch from seq
export const STAT_SUSPECTS = 8; // SUSPECTS triples: seq of an event the seat's workers died handling (or -1), how often, and how many of those were handler timeouts
export const SUSPECTS = 4;
const SUSPECT_FIELDS = 3;
export const STAT_BUSY_MS = STAT_SUSPECTS + SUSPECT_FIELDS * SUSPECTS; // ms from reading a non-empty batch to its cursor commit, summed
export const STAT_HANDLER_MS = STAT_BUSY_MS + 1; // of those, ms inside the handler (per-event handlers: every 16th call timed, × 16)
export const STAT_BATCH_DIED = STAT_HANDLER_MS + 1; // seq of the first event of a batch whose batch handler killed its worker, or -1
export const STAT_BATCH_LAST = STAT_BATCH_DIED + 1; // seq of the last event of the batch the batch handler runs on (or last ran on)
export const STAT_HANDLING_SINCE = STAT_BATCH_LAST + 1; // wall-clock ms the running handler started at (stages with a handlerTimeoutMs)
export const STAT_BATCHES = STAT_HANDLING_SINCE + 1; // batches handled
export const STAT_BATCH_SIZES = STAT_BATCHES + 1; // BATCH_BUCKETS counts: batches of 1, 2, 3–4, 5–8, ... 129–256, and over 256 events
export const BATCH_BUCKETS = 10;
const STATS_FIELDS = STAT_BATCH_SIZES + BATCH_BUCKETS;

/** The bucket of a batch of `events` (≥ 1) events: the smallest k with events ≤ 2^k, the last for more than 256. */
export function batchBucket(events: number): number {
  return Math.min(BATCH_BUCKETS - 1, 32 - Math.clz32(events - 1));
}

export interface ControlBlock {
  readonly words: Int32Array;
  readonly stats: Float64Array;
  readonly seats: number;
}

export function createControl(seats: number): ControlBlock {
  const words = new Int32Array(new SharedArrayBuffer((HEADER_WORDS + seats * SEAT_WORDS) * 4));
  const stats = new Float64Array(new SharedArrayBuffer(Math.max(1, seats) * STATS_FIELDS * 8));
  for (let w = 0; w < seats; w++) {
    stats[statsIndex(w, STAT_HANDLING)] = -1;
    for (let k = 0; k < SUSPECTS; k++) stats[statsIndex(w, STAT_SUSPECTS + SUSPECT_FIELDS * k)] = -1;
    stats[statsIndex(w, STAT_BATCH_DIED)] = -1;
  }
  return { words, stats, seats };
}

export function seatWord(seat: number, field: number): number {
  return HEADER_WORDS + seat * SEAT_WORDS + field;
}

export function statsIndex(seat: number, field: number): number {
  return seat * STATS_FIELDS + field;
}

/** Wall-clock milliseconds, comparable across threads (each thread has its own timeOrigin). */
export function wallClock(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * Marks seat `seat` vacant if `owner` still holds it, and wakes the standbys. Called
 * by a dying worker from its exit hook (its last JavaScript, so it can no longer commit),
 * or by the supervisor when a worker ended without running it (terminate()).
 */
export function vacate(words: Int32Array, stats: Float64Array, seat: number, owner: number, diedAt: number): boolean {
  const word = seatWord(seat, SEAT_OWNER);
  if (Atomics.load(words, word) !== owner) return false;
  stats[statsIndex(seat, STAT_DIED_AT)] = diedAt; // before the seat can be taken: the heal is timed from it
  if (Atomics.compareExchange(words, word, owner, VACANT) !== owner) return false;
  Atomics.add(words, C_VACANCY, 1);
  Atomics.notify(words, C_VACANCY);
  return true;
}

/**
 * A replacement worker's record of the heal it ended: its seat, and from the death
 * (`diedAt`) to its first events in hand (`at`), both wall-clock ms. One per worker, made by
 * the supervisor and written once by the worker (a worker ends at most one heal), so no later heal of the seat
 * overwrites it before it is read; read by the supervisor from shared memory, not from a
 * message, so that the count is exact whenever stats() is called. Its second word asks an
 * idle standby to exit (retire()).
 */
export function createResumeRecord(): SharedArrayBuffer {
  return new SharedArrayBuffer(32);
}

export function recordResume(record: SharedArrayBuffer, seat: number, at: number, diedAt: number): void {
  const times = new Float64Array(record, 8, 3);
  times[0] = at;
  times[1] = diedAt;
  times[2] = seat;
  Atomics.store(new Int32Array(record, 0, 1), 0, 1); // publishes the times
}

/** Asks an idle standby to exit (the pool shrank); it looks when it wakes. */
export function retire(record: SharedArrayBuffer, words: Int32Array): void {
  Atomics.store(new Int32Array(record, 4, 1), 0, 1);
  Atomics.notify(words, C_VACANCY);
}

export function retired(record: SharedArrayBuffer): boolean {
  return Atomics.load(new Int32Array(record, 4, 1), 0) !== 0;
}

/** The heal, once the worker recorded it. */
export function readResume(record: SharedArrayBuffer): { seat: number; at: number; diedAt: number } | undefined {
  if (Atomics.load(new Int32Array(record, 0, 1), 0) === 0) return undefined;
  const times = new Float64Array(record, 8, 3);
  return { at: times[0], diedAt: times[1], seat: times[2] };
}

/**
 * Runs `commitCursor` (the reader's cursor commit after a batch) if this thread still owns
 * the seat, under the seat's cursor lock; false, having committed nothing, once the seat was handed over.
 * The supervisor takes the lock to hand over the seat of a worker it is terminating
 * (supervisor.ts), so a worker never commits its cursor after its successor took the reader over.
 */
export function commitCursorIfSeated(words: Int32Array, seat: number, self: number, commitCursor: () => void): boolean {
  const lock = seatWord(seat, SEAT_CURSOR_LOCK);
  // held by the supervisor for a few instructions at most
  while (Atomics.compareExchange(words, lock, 0, self) !== 0);
  try {
    if (Atomics.load(words, seatWord(seat, SEAT_OWNER)) !== self) return false;
    commitCursor();
    return true;
  } finally {
    Atomics.store(words, lock, 0);
  }
}

/** Takes a vacant seat for `owner`; true for exactly one caller per vacancy. */
export function takeSeat(words: Int32Array, seat: number, owner: number): boolean {
  return Atomics.compareExchange(words, seatWord(seat, SEAT_OWNER), VACANT, owner) === VACANT;
}

/** A worker started under reservation `token` makes the seat its own, if the reservation still stands. */
export function takeReservedSeat(words: Int32Array, seat: number, token: number, owner: number): boolean {
  return Atomics.compareExchange(words, seatWord(seat, SEAT_OWNER), token, owner) === token;
}

/**
 * A worker died: if it died inside a handler, that was a failed attempt at the event it was
 * handling. Deaths are counted per event, at the death (by the dying worker's exit hook, or
 * by the supervisor for a worker that ran none), so that no later kill or restart can lose
 * the count before a replacement reads it. A few events are remembered at once: a
 * replacement can die on another event before it has committed the dead letter of the
 * first (found by a randomised stress run).
 */
export function recordDeath(stats: Float64Array, seat: number, timedOut = false): void {
  const handling = stats[statsIndex(seat, STAT_HANDLING)];
  stats[statsIndex(seat, STAT_HANDLING)] = -1;
  if (handling === -1) return;
  stats[statsIndex(seat, STAT_ERRORS)] += 1; // a failed attempt like a throw (the seat's worker is dead: no other writer)
  // A batch handler's death is held against no event: its batch is handled one event per call next.
  if (handling <= -2) {
    stats[statsIndex(seat, STAT_BATCH_DIED)] = -2 - handling;
    return;
  }
  const base = statsIndex(seat, STAT_SUSPECTS);
  let target = 0;
  for (let k = 0; k < SUSPECTS; k++) {
    const seq = stats[base + SUSPECT_FIELDS * k];
    if (seq === handling) {
      stats[base + SUSPECT_FIELDS * k + 1] += 1;
      if (timedOut) stats[base + SUSPECT_FIELDS * k + 2] += 1;
      return;
    }
    if (seq < stats[base + SUSPECT_FIELDS * target]) target = k; // a free entry (-1), or else the oldest
  }
  stats[base + SUSPECT_FIELDS * target + 1] = 1;
  stats[base + SUSPECT_FIELDS * target + 2] = timedOut ? 1 : 0;
  stats[base + SUSPECT_FIELDS * target] = handling;
}

/** The index in `stats` of the suspect entry of event `seq`, or -1 when none is kept. */
function suspectOf(stats: Float64Array, seat: number, seq: number): number {
  const base = statsIndex(seat, STAT_SUSPECTS);
  for (let k = 0; k < SUSPECTS; k++) if (stats[base + SUSPECT_FIELDS * k] === seq) return base + SUSPECT_FIELDS * k;
  return -1;
}

/** How many times the seat's workers died handling the event `seq`. */
export function deathsOn(stats: Float64Array, seat: number, seq: number): number {
  const at = suspectOf(stats, seat, seq);
  return at < 0 ? 0 : stats[at + 1];
}

/** Of those deaths, how many were terminations of a handler past its handlerTimeoutMs. */
export function timeoutsOn(stats: Float64Array, seat: number, seq: number): number {
  const at = suspectOf(stats, seat, seq);
  return at < 0 ? 0 : stats[at + 2];
}

/** Whether any event of the seat ever killed a worker. */
export function hasSuspects(stats: Float64Array, seat: number): boolean {
  const base = statsIndex(seat, STAT_SUSPECTS);
  for (let k = 0; k < SUSPECTS; k++) if (stats[base + SUSPECT_FIELDS * k] >= 0) return true;
  return false;
}
