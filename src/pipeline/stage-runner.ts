import type { Bus } from '../bus.js';
import type { BusEvent } from '../reader.js';
import { type DeadLetter, describeError, LetterFitter } from './dead-letter.js';
import { batchBucket, deathsOn, S_BATCH_SIZES, S_BATCHES, S_BUSY_MS, S_DEAD, S_DEAD_NO_VALUE, S_ERRORS, S_HANDLING, S_IN, S_OUT, S_RETRIES, S_SUSPECTS, statsIndex, SUSPECTS, W_STOP, wallClock, workerWord } from './control.js';
import type { Stage, StageContext, StageHandler } from './declaration.js';
import { Emitter, type Spill, unshared } from './emitter.js';
import { memberName, type Plan, slotOwner } from './plan.js';

/** How long an idle worker sleeps before it looks at its stop word again. */
const IDLE_MS = 50;

const FIRST_BATCH = 4;

/** The error a dead letter carries for an event whose handler killed its worker every time. */
class WorkerDiedError extends Error {
  override name = 'WorkerDiedError';
}

const isThenable = (value: unknown): value is PromiseLike<unknown> => typeof (value as PromiseLike<unknown>)?.then === 'function';

/**
 * One stage worker's loop: read a batch from the stage's ring, hand each event to the
 * handler (retrying, then dead-lettering), publish what the batch emitted, commit it.
 */
export class StageRunner {
  private readonly stage: Stage;
  private readonly member: number;
  private readonly emitter: Emitter;
  private readonly fitter: LetterFitter;
  private readonly context: StageContext & { topic: string; seq: number; attempt: number };
  private readonly stop: number;

  constructor(
    private readonly plan: Plan,
    private readonly slot: number,
    private readonly handler: StageHandler,
    private readonly buses: (ring: number) => Bus,
    spill: Spill,
    letters: (ring: number) => Bus = buses,
  ) {
    const { stage, member } = slotOwner(plan, slot);
    this.stage = stage;
    this.member = member;
    this.emitter = new Emitter(plan, stage, buses, spill, letters);
    const emitter = this.emitter;
    this.fitter = new LetterFitter(emitter.deadLetterRoom);
    this.context = { stage: stage.name, worker: member, topic: '', seq: -1, attempt: 0, options: stage.options, emit: (topic, value) => emitter.emit(topic, value) };
    this.stop = workerWord(slot, W_STOP);
  }

  /**
   * Runs until the stop word is set or the stage's ring is closed and read to the end.
   * `onFirstEvent` is called with the time once the first event was handled, or the
   * ring found empty: for a replacement, the end of the heal.
   */
  async run(onFirstEvent?: (at: number) => void): Promise<void> {
    const { stage, member } = this;
    const bus = this.buses(stage.index);
    const reader = bus.reader(memberName(stage, member), {
      group: stage.concurrency > 1 ? stage.name : undefined,
      takeover: true, // the supervisor runs one worker per slot: an owner still recorded is dead
      batchSize: stage.batchSize,
      wait: this.plan.wait,
    });
    const words = this.plan.controlWords;
    let first = onFirstEvent;
    try {
      while (Atomics.load(words, this.stop) === 0) {
        // A replacement's first batch is small: the heal ends with its first event, and
        // decoding a whole batch in a thread that never ran this code takes a while.
        const events = reader.read(first !== undefined ? FIRST_BATCH : stage.batchSize);
        if (events.length === 0) {
          if (first !== undefined) {
            first(wallClock());
            first = undefined;
          }
          if (reader.ended) break;
          reader.wait(IDLE_MS);
          continue;
        }
        await this.handle(events, first);
        first = undefined;
        reader.commit();
      }
    } finally {
      reader.close();
    }
  }

  private async handle(events: BusEvent<unknown>[], first?: (at: number) => void): Promise<void> {
    const began = performance.now(); // one clock read per batch, not per event
    const stage = this.stage;
    const stats = this.plan.stats;
    const base = statsIndex(this.slot, 0);
    const context = this.context;
    const emitter = this.emitter;
    let errors = 0;
    let retries = 0;
    let dead = 0;
    let withoutValue = 0;
    const handling = base + S_HANDLING;
    let suspects = false; // any event of this slot ever killed a worker
    for (let k = 0; k < SUSPECTS; k++) if (stats[base + S_SUSPECTS + 2 * k] >= 0) suspects = true;
    /** The dead letter sent for each input event that got one, by index in the batch. */
    const letters = new Map<number, DeadLetter>();
    /** The attempt that succeeded, by index in the batch. */
    const tries: number[] = [];
    const sendLetter = (i: number, whole: DeadLetter) => {
      const letter = this.fitter.fit(whole);
      if (letter === undefined) throw new Error(`stage "${stage.name}": a dead letter does not fit its ring even without its value, stack and message; give the pipeline a larger capacity or outputCapacity`);
      letters.set(i, letter);
      emitter.deadLetter(letter, i);
      dead++;
      if (letter.valueOmitted) withoutValue++;
    };
    for (let i = 0; i < events.length; i++) {
      const event = events[i];
      context.topic = event.topic;
      context.seq = event.seq;
      const deaths = suspects ? deathsOn(stats, this.slot, event.seq) : 0;
      if (deaths >= stage.attempts) {
        sendLetter(i, this.deadLetter(event, deaths, new WorkerDiedError(`stage "${stage.name}": its worker died ${deaths} times handling this event`)));
      } else {
        for (let attempt = 1 + deaths; ; attempt++) {
          context.attempt = attempt;
          try {
            stats[handling] = event.seq;
            const result = this.handler(event.value, context);
            if (isThenable(result)) await result;
            stats[handling] = -1;
            emitter.keep(i);
            tries[i] = attempt;
            break;
          } catch (error) {
            stats[handling] = -1;
            emitter.discard();
            errors++;
            if (attempt >= stage.attempts) {
              sendLetter(i, this.deadLetter(event, attempt, error));
              break;
            }
            retries++;
            if (stage.backoffMs > 0) await new Promise((resolve) => setTimeout(resolve, stage.backoffMs));
          }
        }
      }
      if (i === 0 && first !== undefined) first(wallClock());
    }
    const out = emitter.count;
    // What could not be encoded or did not fit its ring: an emitted value sends its input
    // event to the dead letters. Dead letters were fitted to their rings when made.
    for (let failed = emitter.flush(); failed.length > 0; failed = emitter.flush()) {
      for (const { source, error } of failed) {
        if (letters.has(source)) throw new Error(`stage "${stage.name}": a dead letter fitted to its ring did not fit: ${(error as Error)?.message ?? String(error)}`);
        sendLetter(source, this.deadLetter(events[source], tries[source] ?? 1, error));
      }
    }
    stats[base + S_IN] += events.length;
    stats[base + S_OUT] += out;
    stats[base + S_ERRORS] += errors;
    stats[base + S_RETRIES] += retries;
    stats[base + S_DEAD] += dead;
    stats[base + S_DEAD_NO_VALUE] += withoutValue;
    stats[base + S_BATCHES] += 1;
    stats[base + S_BATCH_SIZES + batchBucket(events.length)] += 1;
    stats[base + S_BUSY_MS] += performance.now() - began;
  }

  private deadLetter(event: BusEvent<unknown>, attempts: number, error: unknown): DeadLetter {
    // a raw event's value is a view of the ring: a letter that is spilled outlives it
    return { stage: this.context.stage, topic: event.topic, seq: event.seq, value: unshared(event.value), attempts, error: describeError(error) };
  }
}
