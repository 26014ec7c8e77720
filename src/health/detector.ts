import type { BusStats } from '../bus.js';
import type { PipelineStats } from '../pipeline/pipeline.js';

export type HealthKind = 'slow-consumer' | 'stalled-reader' | 'stalled-stage' | 'producer-blocked' | 'dead-letter-spike' | 'heal-storm';

export interface HealthThresholds {
  /** A gating reader or a stage with a backlog that made no progress for this long is stalled. Default 10 s. */
  stalledSeconds: number;
  /** A gating reader that is the ring's slowest while the ring stays over 3/4 full for this long is a slow consumer. Default 10 s. */
  slowConsumerSeconds: number;
  /** Producers are blocked when they spent `producerBlockedRatio` of the last `producerBlockedSeconds` waiting for space. Defaults 10 s and 0.5. */
  producerBlockedSeconds: number;
  producerBlockedRatio: number;
  /** Dead letters of one stage within `rateWindowSeconds` that make a spike. Default 10. */
  deadLetters: number;
  /** Worker restarts of one stage within `rateWindowSeconds` that make a heal storm. Default 5. */
  restarts: number;
  /** The window of the two counts above. Default 60 s. */
  rateWindowSeconds: number;
  /** A condition is reported recovered once it has not held for this long (and a full ring counts as full through gaps this short). Default 5 s. */
  clearSeconds: number;
}

export const DEFAULT_THRESHOLDS: Readonly<HealthThresholds> = {
  stalledSeconds: 10,
  slowConsumerSeconds: 10,
  producerBlockedSeconds: 10,
  producerBlockedRatio: 0.5,
  deadLetters: 10,
  restarts: 5,
  rateWindowSeconds: 60,
  clearSeconds: 5,
};

/** What a condition concerns: the bus or pipeline (by the name it was watched under), and the reader or stage. */
export interface HealthSubject {
  bus?: string;
  pipeline?: string;
  reader?: string;
  stage?: string;
}

/** A condition that holds now. `key` names it (kind and subject): the same key across ticks is the same condition. */
export interface Finding extends HealthSubject {
  key: string;
  kind: HealthKind;
  magnitude: number;
  message: string;
}

export type BusSample = BusStats & { backlog: number; maxPayload: number };

interface Progress {
  count: number;
  since: number;
}

/** Counts sampled over time, to tell how much a counter grew within a window. */
class History {
  private readonly points: { at: number; value: number }[] = [];

  add(at: number, value: number, keepMs: number): void {
    this.points.push({ at, value });
    while (this.points.length > 1 && at - this.points[1].at >= keepMs) this.points.shift();
  }

  /** Growth since the newest point at least `ms` old (the oldest point while none is that old), and the span it covers. */
  growth(at: number, ms: number): { by: number; spanMs: number } {
    let base = this.points[0];
    for (const p of this.points) if (at - p.at >= ms) base = p;
    const last = this.points[this.points.length - 1];
    return { by: last.value - base.value, spanMs: at - base.at };
  }
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
const secs = (ms: number) => `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)} s`;

/**
 * Finds the conditions that hold now from successive readings of the buses' and pipelines'
 * statistics. Stateful: it remembers since when each reader and stage made no progress,
 * since when each ring has been held full, and the counters' recent history.
 */
export class Detector {
  private readonly progress = new Map<string, Progress>();
  private readonly fullSince = new Map<string, { since: number; last: number }>();
  private readonly histories = new Map<string, History>();

  constructor(private readonly t: HealthThresholds) {}

  findings(now: number, buses: readonly [string, BusSample][], pipelines: readonly [string, PipelineStats][]): Finding[] {
    const found: Finding[] = [];
    const seen = new Set<string>();
    for (const [bus, stats] of buses) this.bus(now, bus, stats, found, seen);
    for (const [pipeline, stats] of pipelines) this.pipeline(now, pipeline, stats, found, seen);
    // forget readers, stages and buses no longer reported
    for (const map of [this.progress, this.fullSince, this.histories]) for (const key of map.keys()) if (!seen.has(key)) map.delete(key);
    return found;
  }

  private bus(now: number, bus: string, s: BusSample, found: Finding[], seen: Set<string>): void {
    const t = this.t;
    // a producer of a record of up to maxPayload waits unless that much is free: over 3/4 full can hold any of them back
    const fullKey = `bus:${bus}`;
    seen.add(fullKey);
    // a reader's cursor commit after a batch empties the ring for an instant before the producers fill it again
    const full = this.fullSince.get(fullKey);
    if (s.backlog > s.capacity - s.maxPayload) {
      if (full === undefined) this.fullSince.set(fullKey, { since: now, last: now });
      else full.last = now;
    } else if (full !== undefined && now - full.last >= t.clearSeconds * 1000) this.fullSince.delete(fullKey);
    const fullMs = now - (this.fullSince.get(fullKey)?.since ?? now);
    const gating = s.readers.filter((r) => r.kind === 'reader' || r.kind === 'consumer group' || r.kind === 'keyed group');
    const slowest = gating.reduce<(typeof gating)[number] | undefined>((a, r) => (a === undefined || r.lagBytes > a.lagBytes ? r : a), undefined);

    for (const r of gating) {
      const key = `reader:${bus}:${r.name}`;
      seen.add(key);
      const stalledMs = this.stillness(key, now, r.consumed, r.lagEvents);
      if (stalledMs >= t.stalledSeconds * 1000) {
        found.push({
          key: `stalled-reader:${bus}:${r.name}`,
          kind: 'stalled-reader',
          bus,
          reader: r.name,
          magnitude: r.lagEvents,
          message: `reader "${r.name}" of bus "${bus}" has ${plural(r.lagEvents, 'event')} to read and has read none for ${secs(stalledMs)}: look at the thread that reads it (blocked, busy elsewhere, or dead without close())`,
        });
      } else if (r === slowest && r.lagBytes > 0 && fullMs >= t.slowConsumerSeconds * 1000) {
        found.push({
          key: `slow-consumer:${bus}:${r.name}`,
          kind: 'slow-consumer',
          bus,
          reader: r.name,
          magnitude: r.lagEvents,
          message: `reader "${r.name}" of bus "${bus}" reads slower than the producers publish: it is ${plural(r.lagEvents, 'event')} behind and has held the ring over ${Math.floor(((s.capacity - s.maxPayload) / s.capacity) * 100)}% full for ${secs(fullMs)}, so producers wait for it; make its handler faster, share its work in a consumer group, or open it lossy if it may miss events`,
        });
      }
    }

    const waits = this.history(`wait:${bus}`, now, s.producerWaitMs, seen);
    const windowMs = t.producerBlockedSeconds * 1000;
    const { by, spanMs } = waits.growth(now, windowMs);
    if (spanMs >= windowMs && by >= t.producerBlockedRatio * spanMs) {
      const behind = slowest !== undefined && slowest.lagBytes > 0 ? ` behind reader "${slowest.name}" (${plural(slowest.lagEvents, 'event')} behind)` : '';
      found.push({
        key: `producer-blocked:${bus}`,
        kind: 'producer-blocked',
        bus,
        magnitude: by / spanMs,
        message: `producers of bus "${bus}" spent ${secs(by)} of the last ${secs(spanMs)} waiting for space${behind}: the ring is too small for the bursts, or a reader is too slow`,
      });
    }
  }

  private pipeline(now: number, pipeline: string, p: PipelineStats, found: Finding[], seen: Set<string>): void {
    const t = this.t;
    const windowMs = t.rateWindowSeconds * 1000;
    for (const st of p.stages) {
      const stage = st.name;
      const key = `stage:${pipeline}:${stage}`;
      seen.add(key);
      const stalledMs = this.stillness(key, now, st.eventsIn, st.lag);
      if (stalledMs >= t.stalledSeconds * 1000) {
        found.push({
          key: `stalled-stage:${pipeline}:${stage}`,
          kind: 'stalled-stage',
          pipeline,
          stage,
          magnitude: st.lag,
          message: `stage "${stage}" of pipeline "${pipeline}" has ${plural(st.lag, 'event')} waiting and has handled none for ${secs(stalledMs)}: its handler may be stuck (an await that never settles, a lock, an endless loop)`,
        });
      }
      const letters = this.history(`letters:${pipeline}:${stage}`, now, st.deadLetters, seen).growth(now, windowMs).by;
      if (letters >= t.deadLetters) {
        found.push({
          key: `dead-letter-spike:${pipeline}:${stage}`,
          kind: 'dead-letter-spike',
          pipeline,
          stage,
          magnitude: letters,
          message: `stage "${stage}" of pipeline "${pipeline}" sent ${plural(letters, 'event')} to the dead letters in the last ${secs(windowMs)} (bound ${t.deadLetters}): read the letters' errors on the dead-letter topic`,
        });
      }
      const restarts = this.history(`restarts:${pipeline}:${stage}`, now, st.restarts, seen).growth(now, windowMs).by;
      if (restarts >= t.restarts) {
        found.push({
          key: `heal-storm:${pipeline}:${stage}`,
          kind: 'heal-storm',
          pipeline,
          stage,
          magnitude: restarts,
          message: `stage "${stage}" of pipeline "${pipeline}" lost and replaced ${plural(restarts, 'worker')} in the last ${secs(windowMs)} (bound ${t.restarts}): its handler kills its thread (process.exit, an uncaught error, out of memory)`,
        });
      }
    }
  }

  /** How long `key` has had a backlog without its count moving, in ms; 0 while it moves or has nothing to do. */
  private stillness(key: string, now: number, count: number, backlog: number): number {
    const last = this.progress.get(key);
    if (backlog === 0 || last === undefined || last.count !== count) {
      this.progress.set(key, { count, since: now });
      return 0;
    }
    return now - last.since;
  }

  private history(key: string, now: number, value: number, seen: Set<string>): History {
    seen.add(key);
    let history = this.histories.get(key);
    if (history === undefined) this.histories.set(key, (history = new History()));
    history.add(now, value, Math.max(this.t.rateWindowSeconds, this.t.producerBlockedSeconds) * 1000);
    return history;
  }
}
