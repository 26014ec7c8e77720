import type { Bus, OutgoingEvent } from '../bus.js';
import { describe } from '../describe.js';
import { EncodeError, InvalidOptionError, RecordTooLargeError, UndeclaredTopicError } from '../errors.js';
import { publishByIds, publishRecords, topicIdOf } from '../internal.js';
import * as L from '../layout.js';
import { keptMeta, keyBytes } from '../record.js';
import type { Ring } from '../ring.js';
import type { Stage } from './declaration.js';
import type { Plan } from './plan.js';

/**
 * Publishes events that must re-enter a feedback loop later (dead letters: `letters`); the
 * supervisor does it. With `kept`, each value is a forwarded record's payload (its key
 * included), published again as it was, with `kept[i]` the codec and key flag of its meta
 * word (decoded and encoded again, a record of another codec than the pipeline's failed or
 * changed, and a keyed one lost its key).
 */
export type Spill = (ring: number, events: OutgoingEvent[], letters: boolean, kept?: number[]) => void;

/**
 * What a batch publishes into one ring: topic ids, values, and the input event (its index
 * in the batch) behind each; the first `n` entries count. The arrays are kept from batch to
 * batch: emptied by setting their length, V8 would drop their storage and grow it again,
 * copying, for every batch.
 */
interface Outbox {
  ids: number[];
  values: unknown[];
  sources: number[];
  /** Where a forwarded event's record lies in the stage's input ring; -1: the entry is a value. */
  heads: number[];
  n: number;
}

const emptyOutbox = (): Outbox => ({ ids: [], values: [], sources: [], heads: [], n: 0 });

/** Where forwarded events come from: the stage's input ring, and how to decode one of its records. */
export interface ForwardSource {
  ring: Ring;
  valueAt(head: number): unknown;
}

/**
 * The value of the record at `head` of the input ring, for a dead letter: decoded, or its
 * payload's bytes where this thread cannot decode it (a codec of someone else's).
 */
export function letterValueAt(input: ForwardSource, head: number): unknown {
  try {
    return input.valueAt(head);
  } catch {
    return payloadAt(input.ring, head);
  }
}

/** The payload of the record whose header lies at `head` of `ring`, copied; its key left out unless `withKey`. */
function payloadAt(ring: Ring, head: number, withKey = false): Uint8Array {
  const key = withKey ? 0 : keyBytes(ring.i32[head >> 2]);
  const start = head + L.RECORD_HEADER + key;
  return ring.u8.slice(start, start + ring.i32[(head + L.R_LENGTH) >> 2] - key);
}

/** An emitted value that could not be published: its source event (-1: a batch handler's emit), topic and error. */
export interface Failed {
  source: number;
  topic: string;
  value: unknown;
  error: unknown;
}

/**
 * `value`, or a copy of it where it is a view of shared memory (with the raw codec, a
 * handler's input is a view of the ring). postMessage shares such memory instead of
 * copying it, and the ring is reused once the batch's cursor is committed.
 */
export function unshared<T>(value: T): T {
  if (!ArrayBuffer.isView(value) || !(value.buffer instanceof SharedArrayBuffer)) return value;
  const bytes = new Uint8Array(value.byteLength);
  bytes.set(new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
  if (value instanceof DataView) return new DataView(bytes.buffer) as T;
  if (Buffer.isBuffer(value)) return Buffer.from(bytes.buffer) as T;
  const View = value.constructor as new (buffer: ArrayBuffer) => T;
  return new View(bytes.buffer);
}

/**
 * Collects what one stage worker's handlers emit during a batch and publishes it, ring by
 * ring, before the batch's cursor commit: a worker that dies after that cursor commit has published
 * everything its committed events produced (at-least-once, nothing lost).
 */
export class Emitter {
  /** Topic → [ring, topic id in that ring, ...] for every topic the stage may emit. */
  private readonly targets = new Map<string, number[]>();
  private readonly deadLetterTargets: number[];
  /** The largest dead letter every ring it goes to can take, in bytes. */
  readonly deadLetterRoom: number;
  /**
   * Pairs (outbox, entries) for what the attempt in progress added, in order: a failed
   * attempt takes them back off the end of their outboxes. Emits go straight to their
   * outboxes, with no object per emit.
   */
  private readonly attemptBoxes: number[] = [];
  /** Entries of attemptBoxes in use (kept by index, for the reason the outboxes are). */
  private attemptBoxesUsed = 0;
  /** The last topic emitted and its targets: a stage usually emits one topic, and a Map lookup per emit costs as much as the rest of it. */
  private lastTopic = '';
  private lastTargets: number[] | undefined;
  private outboxes: Outbox[];
  private readonly feedback: boolean[];
  /** The input event (index in the batch) the emits belong to; -1: the whole batch (a batch handler's). */
  source = -1;
  /** The stage's input ring, once its reader is open: forward() needs it. */
  private input: ForwardSource | undefined;
  /** Events emitted by the batch's successful attempts (one per emit, whatever the number of rings it goes to). */
  count = 0;
  private attemptEmits = 0;

  /**
   * `buses(ring)` publishes in the pipeline's codec, `letters(ring)` in MessagePack (a dead
   * letter is an object, whatever the codec). Outbox r < rings is ring r's; where the two
   * differ, dead letters for ring r go to outbox rings + r.
   */
  constructor(
    private readonly plan: Plan,
    private readonly stage: Stage,
    private readonly buses: (ring: number) => Bus,
    private readonly spill: Spill,
    private readonly letters: (ring: number) => Bus = buses,
  ) {
    const rings = plan.rings.length;
    const targetsOf = (topic: string, to: readonly number[], box: (ring: number) => number) => to.flatMap((ring) => [box(ring), topicIdOf(buses(ring), topic)]);
    for (const topic of stage.produces)
      this.targets.set(
        topic,
        targetsOf(topic, plan.routes[topic], (ring) => ring),
      );
    // A stage that handles dead letters sends its own out of the pipeline, not to itself.
    const deadLetterRings = stage.consumes.includes(plan.deadLetterTopic) ? [rings - 1] : plan.routes[plan.deadLetterTopic];
    this.deadLetterTargets = targetsOf(plan.deadLetterTopic, deadLetterRings, (ring) => (letters(ring) === buses(ring) ? ring : rings + ring));
    this.deadLetterRoom = Math.min(...deadLetterRings.map((ring) => letters(ring).maxPayload));
    this.outboxes = [...plan.rings, ...plan.rings].map(emptyOutbox);
    const own = plan.componentOf[stage.index];
    const feedback = plan.rings.map((_, ring) => ring < plan.stages.length && plan.componentOf[ring] === own);
    this.feedback = [...feedback, ...feedback];
  }

  /** Where forwarded records come from: the stage's reader, once open. */
  readsFrom(source: ForwardSource): void {
    this.input = source;
  }

  /** What context.emit() calls. */
  emit(topic: string, value: unknown): void {
    const targets = topic === this.lastTopic && this.lastTargets !== undefined ? this.lastTargets : this.targetsOf(topic);
    const boxes = this.attemptBoxes;
    this.attemptEmits++;
    for (let i = 0; i < targets.length; i += 2) {
      const box = targets[i];
      const outbox = this.outboxes[box];
      const k = outbox.n++;
      outbox.ids[k] = targets[i + 1];
      outbox.values[k] = value;
      outbox.sources[k] = this.source;
      outbox.heads[k] = -1;
      boxes[this.attemptBoxesUsed++] = box;
      boxes[this.attemptBoxesUsed++] = 1;
    }
  }

  private targetsOf(topic: string): number[] {
    const targets = this.targets.get(topic);
    if (targets === undefined) throw new UndeclaredTopicError(this.stage.name, topic, this.stage.produces);
    this.lastTopic = topic;
    this.lastTargets = targets;
    return targets;
  }

  /** What a batch context's emitMany() calls. */
  emitMany(topic: string, values: readonly unknown[]): void {
    const targets = topic === this.lastTopic && this.lastTargets !== undefined ? this.lastTargets : this.targetsOf(topic);
    if (!Array.isArray(values))
      throw new InvalidOptionError(`stage "${this.stage.name}": emitMany("${topic}", values) needs an Array of values, got ${describe(values)}`);
    const boxes = this.attemptBoxes;
    const source = this.source;
    this.attemptEmits += values.length;
    for (let i = 0; i < targets.length; i += 2) {
      const box = targets[i];
      const outbox = this.outboxes[box];
      const { ids, values: into, sources, heads } = outbox;
      const id = targets[i + 1];
      let at = outbox.n;
      for (let k = 0; k < values.length; k++, at++) {
        ids[at] = id;
        into[at] = values[k];
        sources[at] = source;
        heads[at] = -1;
      }
      outbox.n = at;
      boxes[this.attemptBoxesUsed++] = box;
      boxes[this.attemptBoxesUsed++] = values.length;
    }
  }

  /** What forward() calls: the events whose records lie at `heads[from .. to)` of the input ring go on into `topic` as they are. */
  forward(topic: string, heads: readonly number[], from: number, to: number): void {
    const targets = topic === this.lastTopic && this.lastTargets !== undefined ? this.lastTargets : this.targetsOf(topic);
    const boxes = this.attemptBoxes;
    const source = this.source;
    this.attemptEmits += to - from;
    for (let i = 0; i < targets.length; i += 2) {
      const box = targets[i];
      const outbox = this.outboxes[box];
      const { ids, values, sources, heads: into } = outbox;
      const id = targets[i + 1];
      let at = outbox.n;
      for (let k = from; k < to; k++, at++) {
        ids[at] = id;
        values[at] = undefined;
        sources[at] = source;
        into[at] = heads[k];
      }
      outbox.n = at;
      boxes[this.attemptBoxesUsed++] = box;
      boxes[this.attemptBoxesUsed++] = to - from;
    }
  }

  /** The attempt failed: take back what it emitted. */
  discard(): void {
    const boxes = this.attemptBoxes;
    for (let i = this.attemptBoxesUsed - 2; i >= 0; i -= 2) {
      const outbox = this.outboxes[boxes[i]];
      const keep = outbox.n - boxes[i + 1];
      outbox.values.fill(undefined, keep, outbox.n);
      outbox.n = keep;
    }
    this.attemptBoxesUsed = 0;
    this.attemptEmits = 0;
  }

  /** The attempt succeeded: what it emitted stays in the batch. */
  keep(): void {
    this.count += this.attemptEmits;
    this.attemptEmits = 0;
    this.attemptBoxesUsed = 0;
  }

  /** Sends an event to the dead-letter topic (from outside any attempt). */
  deadLetter(value: unknown, source: number): void {
    this.route(this.deadLetterTargets, value, source);
  }

  private route(targets: readonly number[], value: unknown, source: number): void {
    for (let i = 0; i < targets.length; i += 2) {
      const outbox = this.outboxes[targets[i]];
      const k = outbox.n++;
      outbox.ids[k] = targets[i + 1];
      outbox.values[k] = value;
      outbox.sources[k] = source;
      outbox.heads[k] = -1;
    }
    this.count++;
  }

  /**
   * Publishes the batch. Rings of this stage's own feedback loop never wait: what does not
   * fit is spilled. Others wait for space (backpressure from downstream). A value the codec
   * cannot encode, or an event too large for its ring, is returned with its source event
   * and error (the source then goes to the dead letters; its other emits are published).
   * Values and forwarded records are published in runs of one kind, in order.
   */
  flush(): Failed[] {
    const failed: Failed[] = [];
    for (let box = 0; box < this.outboxes.length; box++) {
      const outbox = this.outboxes[box];
      const n = outbox.n;
      if (n === 0) continue;
      try {
        for (let start = 0; start < n; ) {
          const forwarded = outbox.heads[start] >= 0;
          let end = start + 1;
          while (end < n && outbox.heads[end] >= 0 === forwarded) end++;
          this.publishRun(box, outbox, start, end, failed);
          start = end;
        }
      } finally {
        // reused by the next batch; no value is kept alive meanwhile
        outbox.values.fill(undefined, 0, n);
        outbox.n = 0;
      }
    }
    this.count = 0;
    return failed;
  }

  /** Publishes entries [start, end) of `outbox`, all values or all forwarded; what cannot go out goes into `failed`. */
  private publishRun(box: number, outbox: Outbox, start: number, end: number, failed: Failed[]): void {
    try {
      this.publish(box, outbox, start, end);
    } catch (error) {
      if (!(error instanceof EncodeError || error instanceof RecordTooLargeError)) throw error;
      // Encoding (and a forwarded record's size check) happens before anything is claimed, so nothing of this run went out yet.
      for (let i = start; i < end; i++) {
        try {
          this.publish(box, outbox, i, i + 1);
        } catch (single) {
          if (!(single instanceof EncodeError || single instanceof RecordTooLargeError)) throw single;
          failed.push({ source: outbox.sources[i], topic: this.topicOf(box, outbox.ids[i]), value: this.valueOf(outbox, i), error: single });
        }
      }
    }
  }

  /** Entry i's value, for a dead letter: a forwarded one's is read from its record (see letterValueAt()). */
  private valueOf(outbox: Outbox, i: number): unknown {
    const head = outbox.heads[i];
    return head < 0 ? outbox.values[i] : letterValueAt(this.input!, head);
  }

  private topicOf(box: number, id: number): string {
    const rings = this.plan.rings.length;
    return (box < rings ? this.buses(box % rings) : this.letters(box % rings)).topics[id];
  }

  /** Publishes entries [start, end) of `outbox`, all values or all forwarded records. */
  private publish(box: number, outbox: Outbox, start: number, end: number): void {
    const rings = this.plan.rings.length;
    const ring = box % rings;
    const bus = box < rings ? this.buses(ring) : this.letters(ring);
    const n = end - start;
    const wait = !this.feedback[box];
    let published: number;
    if (outbox.heads[start] >= 0) {
      published = publishRecords(bus, outbox.ids, this.input!.ring, outbox.heads, wait, start, n);
    } else {
      // a later run of a mixed outbox: rare (a handler that emits and forwards), copied
      const ids = start === 0 ? outbox.ids : outbox.ids.slice(start, end);
      const values = start === 0 ? outbox.values : outbox.values.slice(start, end);
      published = publishByIds(bus, ids, values, wait, n);
    }
    if (published < n) {
      const topics = bus.topics;
      const spilled: OutgoingEvent[] = [];
      const letters = bus !== this.buses(ring);
      // copied now: the spill is published after this batch is committed
      if (outbox.heads[start] < 0) {
        for (let i = start + published; i < end; i++) spilled.push({ topic: topics[outbox.ids[i]], value: unshared(outbox.values[i]) });
        this.spill(ring, spilled, letters);
        return;
      }
      const { ring: from } = this.input!;
      const kept: number[] = [];
      for (let i = start + published; i < end; i++) {
        const head = outbox.heads[i];
        spilled.push({ topic: topics[outbox.ids[i]], value: payloadAt(from, head, true) });
        kept.push(keptMeta(from.i32[head >> 2]));
      }
      this.spill(ring, spilled, letters, kept);
    }
  }
}
