import type { Bus, OutgoingEvent } from '../bus.js';
import { EncodeError, RecordTooLargeError, UndeclaredTopicError } from '../errors.js';
import type { Stage } from './declaration.js';
import type { Plan } from './plan.js';

/** An event a handler emitted, with the input event (its index in the batch) that caused it. */
interface Emitted extends OutgoingEvent {
  source: number;
}

/** Publishes events that must re-enter a feedback loop later; the supervisor does it. */
export type Spill = (ring: number, events: OutgoingEvent[]) => void;

/**
 * Collects what one stage worker's handlers emit during a batch and publishes it, ring by
 * ring, before the batch is committed: a worker that dies after the commit has published
 * everything its committed events produced (at-least-once, nothing lost).
 */
export class Emitter {
  private readonly allowed: Set<string>;
  /** Emitted by the attempt in progress; kept only if the attempt succeeds. */
  private attempt: OutgoingEvent[] = [];
  private readonly batch: Emitted[][];
  private readonly feedback: boolean[];
  private readonly deadLetterRings: readonly number[];
  count = 0;

  constructor(
    private readonly plan: Plan,
    private readonly stage: Stage,
    private readonly buses: (ring: number) => Bus,
    private readonly spill: Spill,
  ) {
    this.allowed = new Set(stage.produces);
    // A stage that handles dead letters sends its own out of the pipeline, not to itself.
    this.deadLetterRings = stage.consumes.includes(plan.deadLetterTopic) ? [plan.rings.length - 1] : plan.routes[plan.deadLetterTopic];
    this.batch = plan.rings.map(() => []);
    const own = plan.componentOf[stage.index];
    this.feedback = plan.rings.map((_, ring) => ring < plan.stages.length && plan.componentOf[ring] === own);
  }

  /** What context.emit() calls. */
  emit(topic: string, value: unknown): void {
    if (!this.allowed.has(topic)) throw new UndeclaredTopicError(this.stage.name, topic, this.stage.produces);
    this.attempt.push({ topic, value });
  }

  /** The attempt failed: forget what it emitted. */
  discard(): void {
    this.attempt.length = 0;
  }

  /** The attempt for input event `source` succeeded: its emits join the batch. */
  keep(source: number): void {
    for (const { topic, value } of this.attempt) this.route(topic, value, source);
    this.attempt.length = 0;
  }

  /** Sends an event to the dead-letter topic (from outside any attempt). */
  deadLetter(value: unknown, source: number): void {
    this.route(this.plan.deadLetterTopic, value, source, this.deadLetterRings);
  }

  private route(topic: string, value: unknown, source: number, rings = this.plan.routes[topic]): void {
    for (let i = 0; i < rings.length; i++) this.batch[rings[i]].push({ topic, value, source });
    this.count++;
  }

  /**
   * Publishes the batch. Rings of this stage's own feedback loop never wait: what does not
   * fit is spilled. Others wait for space (backpressure from downstream). An emitted value
   * the codec cannot encode, or too large for its ring, is returned with its source event
   * and error, so that the source goes to the dead-letter topic instead.
   */
  flush(): { source: number; error: unknown }[] {
    const failed: { source: number; error: unknown }[] = [];
    for (let ring = 0; ring < this.batch.length; ring++) {
      const events = this.batch[ring];
      if (events.length === 0) continue;
      try {
        this.publish(ring, events);
      } catch (error) {
        if (!(error instanceof EncodeError || error instanceof RecordTooLargeError)) throw error;
        // Encoding happens before anything is claimed, so nothing of this batch went out yet.
        for (const event of events) {
          try {
            this.publish(ring, [event]);
          } catch (single) {
            if (!(single instanceof EncodeError || single instanceof RecordTooLargeError)) throw single;
            failed.push({ source: event.source, error: single });
          }
        }
      }
      events.length = 0;
    }
    this.count = 0;
    return failed;
  }

  private publish(ring: number, events: Emitted[]): void {
    const bus = this.buses(ring);
    if (!this.feedback[ring]) {
      bus.publishEvents(events);
      return;
    }
    const published = bus.tryPublishEvents(events);
    if (published < events.length) this.spill(ring, events.slice(published).map(({ topic, value }) => ({ topic, value })));
  }
}
