import type { Bus } from '../bus.js';
import { Undecodable } from '../cursor/cursor.js';
import { HandlerTimeoutError, WorkerDiedError } from '../errors.js';
import { readBatch, ringOf, valueAt } from '../internal.js';
import { type DeadLetter, describeError, LetterFitter } from './dead-letter.js';
import {
  batchBucket,
  deathsOn,
  hasSuspects,
  SEAT_STOP,
  seatWord,
  STAT_BATCH_DIED,
  STAT_BATCH_LAST,
  STAT_BATCH_SIZES,
  STAT_BATCHES,
  STAT_BUSY_MS,
  STAT_DEAD,
  STAT_DEAD_NO_VALUE,
  STAT_ERRORS,
  STAT_HANDLER_MS,
  STAT_HANDLING,
  STAT_HANDLING_SINCE,
  STAT_IN,
  STAT_OUT,
  STAT_RETRIES,
  statsIndex,
  timeoutsOn,
  wallClock,
} from './control.js';
import type { BatchContext, Stage, StageBatchHandler, StageContext, StageHandler, StageRecordsHandler } from './declaration.js';
import { Emitter, type ForwardSource, letterValueAt, type Spill, unshared } from './emitter.js';
import { memberName, type Plan, readerTopics, stageOfSeat } from './plan.js';
import { checkRange, HeldRecords } from './record-batch.js';

/** How long an idle worker sleeps before it looks at its stop word again. */
const IDLE_MS = 50;

const FIRST_BATCH = 4;

/** Per-event handlers are timed one call in SAMPLE (two clock reads cost as much as a trivial handler). */
const SAMPLE = 16;

/** What a stage module gave: a records handler, a batch handler, or a per-event one. */
export type StageHandlers =
  | { records: StageRecordsHandler; batch?: undefined; event?: undefined }
  | { batch: StageBatchHandler; records?: undefined; event?: undefined }
  | { event: StageHandler; records?: undefined; batch?: undefined };

/**
 * One batch as read, in parallel arrays: no object per event. The worker reads into the
 * same arrays every time (grown once, not for every batch); a batch handler gets copies
 * of exactly its batch's length, which it may keep.
 */
interface Batch {
  values: unknown[];
  topics: string[];
  seqs: number[];
  /** Where each event's record header lies in the input ring (what forward() copies). */
  heads: number[];
}

/** Never returns: what a worker handed over does until its termination lands (it must not even close its reader). */
function hold(): never {
  const forever = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(forever, 0, 0);
}

const isThenable = (value: unknown): value is PromiseLike<unknown> => typeof (value as PromiseLike<unknown>)?.then === 'function';

function undecodableIn(values: readonly unknown[], n: number): boolean {
  for (let i = 0; i < n; i++) if (values[i] instanceof Undecodable) return true;
  return false;
}

/**
 * One stage worker's loop: read a batch from the stage's ring, hand it to the batch handler
 * or each event to the handler (retrying, then dead-lettering), publish what the batch
 * emitted, commit the reader's cursor.
 */
export class StageRunner {
  private readonly stage: Stage;
  private readonly member: number;
  private readonly emitter: Emitter;
  private readonly fitter: LetterFitter;
  private readonly context: StageContext & { topic: string; seq: number; attempt: number };
  private readonly batchContext: BatchContext & { topics: string[]; seqs: number[]; attempt: number };
  private readonly handler: StageHandler;
  private readonly batch: StageBatchHandler | undefined;
  private readonly records: StageRecordsHandler | undefined;
  private readonly stop: number;
  private sampled = 0;
  /** What the worker holds: read into the same arrays every time. */
  private readonly read: Batch = { values: [], topics: [], seqs: [], heads: [] };
  /** The events the handler being called handles: [windowStart, windowStart + windowLength) of `read`. */
  private windowStart = 0;
  private windowLength = 0;
  /** The records handler's batch, once the reader is open. */
  private held: HeldRecords | undefined;
  /** The stage's input ring and its decoder, once the reader is open. */
  private input: ForwardSource | undefined;

  constructor(
    private readonly plan: Plan,
    private readonly seat: number,
    handlers: StageHandlers,
    private readonly buses: (ring: number) => Bus,
    spill: Spill,
    letters: (ring: number) => Bus = buses,
    /** Commits the reader's cursor after a batch (calls its argument), or returns false when the seat is no longer this worker's: it then stops. */
    private readonly commitCursor: (commit: () => void) => boolean = (commit) => (commit(), true),
  ) {
    const { stage, member } = stageOfSeat(plan, seat);
    this.stage = stage;
    this.member = member;
    this.emitter = new Emitter(plan, stage, buses, spill, letters);
    const emitter = this.emitter;
    this.fitter = new LetterFitter(emitter.deadLetterRoom);
    const emit = (topic: string, value: unknown) => emitter.emit(topic, value);
    const emitMany = (topic: string, values: readonly unknown[]) => emitter.emitMany(topic, values);
    const heads = this.read.heads;
    const forwardOne = (topic: string) => emitter.forward(topic, heads, this.windowStart, this.windowStart + 1);
    const forward = (topic: string, from = 0, to = this.windowLength) => {
      checkRange(stage.name, from, to, this.windowLength);
      emitter.forward(topic, heads, this.windowStart + from, this.windowStart + to);
    };
    this.context = { stage: stage.name, worker: member, topic: '', seq: -1, attempt: 0, options: stage.options, emit, forward: forwardOne };
    this.batchContext = { stage: stage.name, worker: member, topics: [], seqs: [], attempt: 0, options: stage.options, emit, emitMany, forward };
    this.batch = handlers.batch;
    this.records = handlers.records;
    const { batch, records } = handlers;
    if (batch === undefined && records === undefined) this.handler = handlers.event!;
    else {
      // An event handled on its own (a failed batch split up): a batch of one.
      const one: BatchContext & { topics: string[]; seqs: number[]; attempt: number } = { ...this.batchContext, topics: [''], seqs: [0] };
      this.handler = (value, context) => {
        one.topics[0] = context.topic;
        one.seqs[0] = context.seq;
        one.attempt = context.attempt;
        if (batch !== undefined) return batch([value], one);
        return records!(this.held!.window(this.windowStart, 1), one);
      };
    }
    this.stop = seatWord(seat, SEAT_STOP);
  }

  /**
   * Runs until the stop word is set or the stage's ring is closed and read to the end.
   * `onFirstEvent` is called with the time once the first events were read, or the
   * ring found empty: for a replacement, the end of the heal.
   */
  async run(onFirstEvent?: (at: number) => void): Promise<void> {
    const { stage, member } = this;
    const bus = this.buses(stage.index);
    const reader = bus.reader(memberName(stage, member), {
      group: stage.concurrency > 1 ? stage.name : undefined,
      takeover: true, // the supervisor runs one worker per seat: an owner still recorded is dead
      batchSize: stage.batchSize,
      wait: this.plan.wait,
      topics: readerTopics(this.plan.rings[stage.index].topics, stage),
    });
    const words = this.plan.controlWords;
    const stats = this.plan.stats;
    const busy = statsIndex(this.seat, STAT_BUSY_MS);
    let first = onFirstEvent;
    const commitReader = () => reader.commit();
    const read = this.read;
    const decode = this.records === undefined;
    const ring = ringOf(bus);
    const input: ForwardSource = { ring, valueAt: (head: number) => valueAt(reader, head) };
    this.input = input;
    this.emitter.readsFrom(input);
    if (!decode) this.held = new HeldRecords(ring, stage.name, read.heads, read.topics, read.seqs, input.valueAt);
    try {
      while (Atomics.load(words, this.stop) === 0) {
        const started = performance.now();
        // A replacement's first batch is small: the heal ends with its first events in hand,
        // and decoding a whole batch in a thread that never ran this code takes a while.
        const n = readBatch(reader, first !== undefined ? FIRST_BATCH : stage.batchSize, read, decode);
        // The heal is over once the replacement has the seat's events in hand (or found none):
        // counted before their handlers run, so that one that dies on its very first event
        // (the next death aimed at this stage, say) is still counted as healed, then as dead.
        if (first !== undefined) {
          first(wallClock());
          first = undefined;
        }
        if (n === 0) {
          if (reader.ended) break;
          reader.wait(IDLE_MS);
          continue;
        }
        // A batch handler may keep what it gets: copies of exactly its batch's length.
        const batch =
          this.batch !== undefined || this.records !== undefined
            ? {
                values: this.batch !== undefined ? read.values.slice(0, n) : read.values,
                topics: read.topics.slice(0, n),
                seqs: read.seqs.slice(0, n),
                heads: read.heads,
              }
            : read;
        await this.handle(batch, n);
        read.values.fill(undefined, 0, n); // no value kept alive while the worker waits
        if (!this.commitCursor(commitReader)) return hold(); // handed over while terminated: nothing more from this thread
        stats[busy] += performance.now() - started;
      }
    } finally {
      reader.close();
    }
  }

  /** Handles the first `n` events of `batch`. */
  private async handle(batch: Batch, n: number): Promise<void> {
    const { topics, seqs } = batch;
    const stage = this.stage;
    const stats = this.plan.stats;
    const base = statsIndex(this.seat, 0);
    const emitter = this.emitter;
    const tally = { errors: 0, retries: 0, dead: 0, withoutValue: 0 };
    /** The dead letter sent for each input event that got one, by index in the batch. */
    const letters = new Map<number, DeadLetter>();
    /** The attempt that succeeded, by index in the batch, where it was not the first (a retry is rare: no entry per event). */
    const tries = new Map<number, number>();
    const sendLetter = (i: number, whole: DeadLetter) => {
      const letter = this.fitter.fit(whole);
      if (letter === undefined)
        throw new Error(
          `stage "${stage.name}": a dead letter does not fit its ring even without its value, stack and message; give the pipeline a larger capacity or outputCapacity`,
        );
      letters.set(i, letter);
      emitter.deadLetter(letter, i);
      tally.dead++;
      if (letter.valueOmitted) tally.withoutValue++;
    };
    // A batch handler that killed its worker: every event of that batch is handled one per
    // call, however the replacement's reads cut it up (its first read is short), until the
    // replacement is past the batch's last event; a death on the way keeps that going.
    const batchDied = base + STAT_BATCH_DIED;
    const died = stats[batchDied];
    const diedLast = stats[base + STAT_BATCH_LAST];
    // a batch holding a record it could not decode goes one event per call: that one is dead-lettered
    let whole =
      (this.records !== undefined || (this.batch !== undefined && !undecodableIn(batch.values, n))) && (died < 0 || seqs[n - 1] < died || seqs[0] > diedLast);
    if (died >= 0 && seqs[0] > diedLast) stats[batchDied] = -1;
    if (whole) {
      whole = await this.handleWhole(batch, n, tally);
    }
    let out = 0;
    let orphans = 0; // a batch emit's letter is its own source: -2, -3, ...
    /**
     * Publishes what was emitted so far. What could not be encoded or did not fit its ring:
     * an emitted value sends its input event to the dead letters (a batch handler's emit
     * goes there itself). Dead letters were fitted to their rings when made.
     */
    const publish = () => {
      out += emitter.count;
      for (let failed = emitter.flush(); failed.length > 0; failed = emitter.flush()) {
        for (const { source, topic, value, error } of failed) {
          if (source <= -2 || letters.has(source))
            throw new Error(`stage "${stage.name}": a dead letter fitted to its ring did not fit: ${(error as Error)?.message ?? String(error)}`);
          if (source === -1)
            sendLetter(-2 - orphans++, { stage: stage.name, topic, seq: -1, value: unshared(value), attempts: 1, error: describeError(error) });
          else sendLetter(source, this.deadLetter(topics[source], seqs[source], this.valueOf(batch, source), tries.get(source) ?? 1, error));
        }
      }
    };
    if (!whole) {
      await this.handleEach(batch, n, tally, sendLetter, tries, publish);
      if (died >= 0 && seqs[n - 1] >= diedLast) stats[batchDied] = -1;
    }
    publish();
    stats[base + STAT_IN] += n;
    stats[base + STAT_OUT] += out;
    stats[base + STAT_ERRORS] += tally.errors;
    stats[base + STAT_RETRIES] += tally.retries;
    stats[base + STAT_DEAD] += tally.dead;
    stats[base + STAT_DEAD_NO_VALUE] += tally.withoutValue;
    stats[base + STAT_BATCHES] += 1;
    stats[base + STAT_BATCH_SIZES + batchBucket(n)] += 1;
  }

  /** The batch handler on the whole batch: true if it succeeded, false if it failed (its emits discarded). */
  private async handleWhole(batch: Batch, n: number, tally: { errors: number }): Promise<boolean> {
    const stats = this.plan.stats;
    const handling = statsIndex(this.seat, STAT_HANDLING);
    const context = this.batchContext;
    context.topics = batch.topics;
    context.seqs = batch.seqs;
    context.attempt = 1;
    this.emitter.source = -1;
    this.windowStart = 0;
    this.windowLength = n;
    const started = performance.now();
    try {
      if (this.stage.handlerTimeoutMs > 0) stats[statsIndex(this.seat, STAT_HANDLING_SINCE)] = wallClock();
      stats[statsIndex(this.seat, STAT_BATCH_LAST)] = batch.seqs[n - 1]; // before the first: a death reads both
      stats[handling] = -2 - batch.seqs[0];
      let result: unknown;
      if (this.batch !== undefined) result = this.batch(batch.values, context);
      else {
        result = this.records!(this.held!.window(0, n), context);
      }
      if (isThenable(result)) await result;
      this.emitter.keep();
      return true;
    } catch {
      // Which event failed is not known: each is handled again on its own, with its own retries.
      this.emitter.discard();
      tally.errors++;
      return false;
    } finally {
      stats[handling] = -1;
      stats[statsIndex(this.seat, STAT_HANDLER_MS)] += performance.now() - started;
    }
  }

  private async handleEach(
    batch: Batch,
    n: number,
    tally: { errors: number; retries: number },
    sendLetter: (i: number, letter: DeadLetter) => void,
    tries: Map<number, number>,
    publish: () => void,
  ): Promise<void> {
    const { values, topics, seqs } = batch;
    const stage = this.stage;
    const stats = this.plan.stats;
    const base = statsIndex(this.seat, 0);
    const handling = base + STAT_HANDLING;
    const handlerMs = base + STAT_HANDLER_MS;
    const context = this.context;
    const emitter = this.emitter;
    const handler = this.handler;
    const watched = stage.handlerTimeoutMs > 0;
    const since = base + STAT_HANDLING_SINCE;
    const suspects = hasSuspects(stats, this.seat);
    this.windowLength = 1;
    for (let i = 0; i < n; i++) {
      const seq = seqs[i];
      context.topic = topics[i];
      context.seq = seq;
      emitter.source = i;
      this.windowStart = i;
      const value = values[i];
      if (value instanceof Undecodable) {
        // A record no codec of this thread decodes (written from outside in a codec of its
        // own): to the dead letters with its bytes, committed with the batch like the others.
        tally.errors++;
        sendLetter(i, this.deadLetter(topics[i], seq, value.error.record?.bytes, 1, value.error));
        continue;
      }
      const deaths = suspects ? deathsOn(stats, this.seat, seq) : 0;
      // the try after a death is a retry, counted now: this worker may die in it too
      if (deaths > 0 && deaths < stage.attempts) stats[base + STAT_RETRIES] += 1;
      if (deaths >= stage.attempts) {
        const error =
          timeoutsOn(stats, this.seat, seq) > 0
            ? new HandlerTimeoutError(
                `stage "${stage.name}": its handler ran longer than handlerTimeoutMs (${stage.handlerTimeoutMs} ms) on this event; ${deaths} failed attempts (timeouts and worker deaths)`,
              )
            : new WorkerDiedError(`stage "${stage.name}": its worker died ${deaths} times handling this event`);
        sendLetter(i, this.deadLetter(topics[i], seq, this.valueOf(batch, i), deaths, error));
      } else {
        for (let attempt = 1 + deaths; ; attempt++) {
          context.attempt = attempt;
          const timed = ++this.sampled % SAMPLE === 0;
          const started = timed ? performance.now() : 0;
          try {
            if (watched) stats[since] = wallClock(); // before the seq: the supervisor reads them in the other order
            stats[handling] = seq;
            const result = handler(value, context);
            if (isThenable(result)) await result;
            stats[handling] = -1;
            if (timed) stats[handlerMs] += (performance.now() - started) * SAMPLE;
            emitter.keep();
            if (attempt > 1) tries.set(i, attempt);
            break;
          } catch (error) {
            stats[handling] = -1;
            if (timed) stats[handlerMs] += (performance.now() - started) * SAMPLE;
            emitter.discard();
            tally.errors++;
            if (attempt >= stage.attempts) {
              sendLetter(i, this.deadLetter(topics[i], seq, this.valueOf(batch, i), attempt, error));
              break;
            }
            tally.retries++;
            if (stage.backoffMs > 0) await new Promise((resolve) => setTimeout(resolve, stage.backoffMs));
          }
        }
      }
      // Bounded in flight: published before the batch's cursor commit, which at-least-once allows.
      if (emitter.count >= stage.maxUnpublished) publish();
    }
  }

  /** Event i's value: decoded now where the batch was read as records. */
  private valueOf(batch: Batch, i: number): unknown {
    return this.records === undefined ? batch.values[i] : letterValueAt(this.input!, batch.heads[i]);
  }

  private deadLetter(topic: string, seq: number, value: unknown, attempts: number, error: unknown): DeadLetter {
    // a raw event's value is a view of the ring: a letter that is spilled outlives it
    return { stage: this.context.stage, topic, seq, value: unshared(value), attempts, error: describeError(error) };
  }
}
