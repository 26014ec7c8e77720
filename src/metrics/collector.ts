import { Counter, Gauge, Histogram, type Metric, type Registry, register as globalRegistry } from 'prom-client';
import type { Bus, BusStats, ProducerStats, TopicStats } from '../bus.js';
import { describe } from '../describe.js';
import { InvalidOptionError } from '../errors.js';
import { checkBus, checkPipeline } from '../health/subjects.js';
import { HealthWatch } from '../health/watch.js';
import type { Pipeline, PipelineStats } from '../pipeline/pipeline.js';
import type { ReaderStats } from '../stats.js';
import { knownOptions } from '../validate.js';

export interface RingbusMetricsOptions {
  /** Where the metrics are registered. Default: prom-client's global registry. */
  registry?: Registry;
}

interface Snapshot {
  buses: [string, BusStats & { backlog: number; topics: TopicStats[]; producers: ProducerStats[] }][];
  pipelines: [string, PipelineStats][];
  health: HealthWatch[];
}

type Labels = Record<string, string>;

const OPTIONS: readonly (keyof RingbusMetricsOptions)[] = ['registry'];

/**
 * A prom-client Registry, by what RingbusMetrics calls on it (a Registry of another copy of
 * prom-client works as well as one of this copy).
 */
function isRegistry(value: unknown): value is Registry {
  const r = value as Partial<Registry> | null;
  return (
    typeof r === 'object' && r !== null && typeof r.getSingleMetric === 'function' && typeof r.registerMetric === 'function' && typeof r.metrics === 'function'
  );
}

const KIND: Record<ReaderStats['kind'], string> = {
  reader: 'gating',
  'lossy reader': 'lossy',
  'consumer group': 'group',
  'group member': 'member',
  'keyed group': 'keyed-group',
  'keyed member': 'keyed-member',
};

/** Heal times run from about a millisecond (a warm standby) to a second (a cold start on a busy machine). */
const HEAL_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/**
 * Bus and pipeline figures as Prometheus metrics. Nothing is counted on the hot path: each
 * scrape reads the counters the ring and the pipeline's control block already keep
 * (bus.stats(), pipeline.stats()), once per scrape whatever the number of metrics.
 */
export class RingbusMetrics {
  readonly registry: Registry;
  private readonly buses = new Map<string, Bus>();
  private readonly pipelines = new Map<string, Pipeline>();
  private readonly watches = new Set<HealthWatch>();
  /** Per pipeline and stage, how many of its heal times the histogram has observed. */
  private readonly healsSeen = new Map<string, Map<string, number>>();
  private readonly healSeconds: Histogram<'pipeline' | 'stage'>;
  private snapshot: Snapshot | undefined;

  constructor(options: RingbusMetricsOptions = {}) {
    knownOptions('new RingbusMetrics() options', options, OPTIONS);
    const registry: unknown = options.registry ?? globalRegistry;
    if (!isRegistry(registry))
      throw new InvalidOptionError(`registry must be a prom-client Registry (new Registry() from 'prom-client'), got ${describe(registry)}`);
    this.registry = registry;
    if (this.registry.getSingleMetric('ringbus_published_events_total') !== undefined) {
      throw new InvalidOptionError(
        'this registry already holds ringbus metrics: add every bus and pipeline to the one RingbusMetrics, or give this one a registry of its own ({ registry: new Registry() })',
      );
    }
    const registers = [this.registry];
    const read = () => this.read();
    const metric = <L extends string>(
      type: 'counter' | 'gauge',
      name: string,
      help: string,
      labelNames: readonly L[],
      pick: (s: Snapshot) => [Labels, number][],
    ) => {
      const config = {
        name,
        help,
        labelNames,
        registers,
        collect(this: Counter<L> | Gauge<L>) {
          this.reset(); // a reader or bus that went away leaves no stale series
          for (const [labels, value] of pick(read())) {
            if (this instanceof Counter) this.inc(labels as never, value);
            else this.set(labels as never, value);
          }
        },
      };
      return type === 'counter' ? new Counter<L>(config) : new Gauge<L>(config);
    };
    const perBus = (value: (s: Snapshot['buses'][number][1]) => number) => (s: Snapshot) =>
      s.buses.map(([bus, stats]): [Labels, number] => [{ bus }, value(stats)]);
    const perReader = (value: (r: ReaderStats) => number) => (s: Snapshot) =>
      s.buses.flatMap(([bus, stats]) => stats.readers.map((r): [Labels, number] => [{ bus, reader: r.name, kind: KIND[r.kind] }, value(r)]));
    const perStage = (value: (stage: PipelineStats['stages'][number]) => number) => (s: Snapshot) =>
      s.pipelines.flatMap(([pipeline, stats]) => stats.stages.map((st): [Labels, number] => [{ pipeline, stage: st.name }, value(st)]));
    const perPipeline = (value: (s: PipelineStats) => number) => (s: Snapshot) =>
      s.pipelines.map(([pipeline, stats]): [Labels, number] => [{ pipeline }, value(stats)]);

    metric(
      'counter',
      'ringbus_published_events_total',
      'Events committed to the ring and readable.',
      ['bus'],
      perBus((b) => b.published),
    );
    metric(
      'counter',
      'ringbus_claimed_events_total',
      'Events claimed by producers (sequence numbers handed out), committed or not.',
      ['bus'],
      perBus((b) => b.claimed),
    );
    metric(
      'counter',
      'ringbus_written_bytes_total',
      'Bytes claimed in the ring: records with their 16-byte headers and alignment, and the padding at each wrap.',
      ['bus'],
      perBus((b) => b.tail),
    );
    metric(
      'counter',
      'ringbus_revoked_claims_total',
      'Claims revoked: their thread died before committing them, or gave them up.',
      ['bus'],
      perBus((b) => b.revoked),
    );
    metric(
      'counter',
      'ringbus_producer_wait_seconds_total',
      'Time producers in all threads spent waiting for space in the ring (counted when each wait ends).',
      ['bus'],
      perBus((b) => b.producerWaitMs / 1000),
    );
    metric(
      'gauge',
      'ringbus_capacity_bytes',
      "Bytes in the ring's data region.",
      ['bus'],
      perBus((b) => b.capacity),
    );
    metric(
      'gauge',
      'ringbus_closed',
      '1 once the bus was closed.',
      ['bus'],
      perBus((b) => (b.closed ? 1 : 0)),
    );
    metric(
      'gauge',
      'ringbus_backlog_bytes',
      'Bytes claimed that the slowest gating reader has not consumed yet (bus.backlog()).',
      ['bus'],
      perBus((b) => b.backlog),
    );

    const perTopic = (value: (t: TopicStats) => number) => (s: Snapshot) =>
      s.buses.flatMap(([bus, stats]) => stats.topics.map((t): [Labels, number] => [{ bus, topic: t.topic }, value(t)]));
    metric(
      'counter',
      'ringbus_topic_published_events_total',
      'Events committed on the topic, from every thread.',
      ['bus', 'topic'],
      perTopic((t) => t.events),
    );
    metric(
      'counter',
      'ringbus_topic_published_bytes_total',
      'Payload bytes (encoded, headers not included) of the events committed on the topic.',
      ['bus', 'topic'],
      perTopic((t) => t.bytes),
    );
    metric(
      'counter',
      'ringbus_producer_blocked_seconds_total',
      'Time a thread publishing on the bus spent waiting for space (counted when each wait ends; threadId 0 is the main thread).',
      ['bus', 'thread'],
      (s) => s.buses.flatMap(([bus, stats]) => stats.producers.map((p): [Labels, number] => [{ bus, thread: String(p.thread) }, p.blockedMs / 1000])),
    );

    const reader = ['bus', 'reader', 'kind'] as const;
    metric(
      'counter',
      'ringbus_reader_consumed_events_total',
      'Events the reader delivered (a group: all its members).',
      reader,
      perReader((r) => r.consumed),
    );
    metric(
      'gauge',
      'ringbus_reader_lag_events',
      'Events claimed that the reader (or group) has not passed yet; 0 for group members.',
      reader,
      perReader((r) => r.lagEvents),
    );
    metric(
      'gauge',
      'ringbus_reader_lag_bytes',
      "Bytes between the reader's committed position and the ring's tail.",
      reader,
      perReader((r) => r.lagBytes),
    );
    metric(
      'counter',
      'ringbus_reader_wait_seconds_total',
      'Time the reader spent waiting for events.',
      reader,
      perReader((r) => r.waitMs / 1000),
    );
    metric(
      'counter',
      'ringbus_reader_missed_events_total',
      'Events a lossy reader was lapped over and never saw.',
      reader,
      perReader((r) => r.missed),
    );

    const stage = ['pipeline', 'stage'] as const;
    metric(
      'gauge',
      'ringbus_stage_workers',
      'Worker threads of the stage.',
      stage,
      perStage((s) => s.workers),
    );
    metric(
      'counter',
      'ringbus_stage_in_events_total',
      'Events the stage handled, dead-lettered ones included (an event redelivered after a crash counts again).',
      stage,
      perStage((s) => s.eventsIn),
    );
    metric(
      'counter',
      'ringbus_stage_out_events_total',
      'Events the stage emitted, dead letters included.',
      stage,
      perStage((s) => s.eventsOut),
    );
    metric(
      'counter',
      'ringbus_stage_errors_total',
      'Failed attempts: each throw of the handler, each death of a worker in it.',
      stage,
      perStage((s) => s.errors),
    );
    metric(
      'counter',
      'ringbus_stage_retries_total',
      'Attempts made again after a failure.',
      stage,
      perStage((s) => s.retries),
    );
    metric(
      'counter',
      'ringbus_stage_dead_letters_total',
      'Events sent to the dead-letter topic after their last failed attempt.',
      stage,
      perStage((s) => s.deadLetters),
    );
    metric(
      'counter',
      'ringbus_stage_restarts_total',
      'Dead workers of the stage replaced.',
      stage,
      perStage((s) => s.restarts),
    );
    metric(
      'counter',
      'ringbus_stage_busy_seconds_total',
      "Time the stage's workers spent handling batches (handlers, retries, publishing what they emitted), not waiting for events.",
      stage,
      perStage((s) => s.busyMs / 1000),
    );
    metric(
      'counter',
      'ringbus_stage_batches_total',
      'Batches the stage handled.',
      stage,
      perStage((s) => s.batches),
    );
    metric(
      'gauge',
      'ringbus_stage_lag_events',
      "Events in the stage's ring it has not handled yet.",
      stage,
      perStage((s) => s.lag),
    );
    metric(
      'gauge',
      'ringbus_pipeline_spilled_events',
      'Events waiting now to re-enter a feedback loop.',
      ['pipeline'],
      perPipeline((p) => p.spilled),
    );
    metric(
      'counter',
      'ringbus_pipeline_spilled_events_total',
      "Events that ever had to wait outside a feedback loop's ring.",
      ['pipeline'],
      perPipeline((p) => p.spilledTotal),
    );
    metric(
      'gauge',
      'ringbus_pipeline_standbys_ready',
      'Warm standby workers ready to replace a dead one.',
      ['pipeline'],
      perPipeline((p) => p.standbysReady),
    );

    const subject = ['kind', 'bus', 'pipeline', 'reader', 'stage'] as const;
    metric(
      'gauge',
      'ringbus_health_condition',
      'Health conditions that hold now (watchHealth()), valued by their magnitude; a label not concerned is empty.',
      subject,
      (s) =>
        s.health.flatMap((w) =>
          w
            .conditions()
            .map((c): [Labels, number] => [
              { kind: c.kind, bus: c.bus ?? '', pipeline: c.pipeline ?? '', reader: c.reader ?? '', stage: c.stage ?? '' },
              c.magnitude,
            ]),
        ),
    );
    metric('counter', 'ringbus_health_events_total', "Health events reported, per kind ('recovered' included).", ['kind'], (s) => {
      const totals = new Map<string, number>();
      for (const w of s.health) for (const [kind, n] of w.counts()) totals.set(kind, (totals.get(kind) ?? 0) + n);
      return [...totals].map(([kind, n]): [Labels, number] => [{ kind }, n]);
    });

    this.registry.registerMetric(this.batchSizeHistogram(read));

    const seen = this.healsSeen;
    this.healSeconds = new Histogram({
      name: 'ringbus_stage_heal_seconds',
      help: "Time from a stage worker's death to its replacement handling its first event.",
      labelNames: stage,
      buckets: HEAL_BUCKETS,
      registers,
      collect(this: Histogram<'pipeline' | 'stage'>) {
        for (const [pipeline, stats] of read().pipelines) {
          const counts = seen.get(pipeline)!;
          for (const st of stats.stages) {
            const from = counts.get(st.name) ?? 0;
            if (!counts.has(st.name)) this.zero({ pipeline, stage: st.name }); // a series from the first scrape, heals or not
            for (const ms of st.healMs.slice(from)) this.observe({ pipeline, stage: st.name }, ms / 1000);
            counts.set(st.name, st.healMs.length);
          }
        }
      },
    });
  }

  /**
   * Batch sizes as a histogram. The workers count batches per power-of-two bucket in
   * shared memory; a prom-client Histogram could only be fed one observation at a time, so
   * this metric hands the registry the counts as they are.
   */
  private batchSizeHistogram(read: () => Snapshot): Metric {
    const name = 'ringbus_stage_batch_size';
    const help = 'Events per batch a stage handled.';
    const get = async () => ({
      name,
      help,
      type: 'histogram' as const,
      aggregator: 'sum' as const,
      values: read().pipelines.flatMap(([pipeline, stats]) =>
        stats.stages.flatMap((st) => {
          const labels = { pipeline, stage: st.name };
          let cumulative = 0;
          const buckets = st.batchSizes.map((n, k) => {
            cumulative += n;
            return { labels: { ...labels, le: k === st.batchSizes.length - 1 ? '+Inf' : 2 ** k }, value: cumulative, metricName: `${name}_bucket` };
          });
          return [...buckets, { labels, value: st.eventsIn, metricName: `${name}_sum` }, { labels, value: st.batches, metricName: `${name}_count` }];
        }),
      ),
    });
    return { name, help, type: 'histogram', aggregator: 'sum', get, reset: () => undefined } as unknown as Metric;
  }

  /** Adds a bus's figures under the label `bus="name"`. Anything but a Bus is an InvalidOptionError. */
  addBus(name: string, bus: Bus): this {
    this.checkName('bus', name, this.buses);
    const where = `addBus(${JSON.stringify(name)}, bus)`;
    checkBus(where, bus, 'addBus(name, bus)', 'add it with addPipeline(name, pipeline), or its output ring with addBus(name, pipeline.output)');
    this.buses.set(name, bus);
    return this;
  }

  /** Adds a pipeline's figures under the label `pipeline="name"`: its stages, spill and heals. Anything but a Pipeline is an InvalidOptionError. */
  addPipeline(name: string, pipeline: Pipeline): this {
    this.checkName('pipeline', name, this.pipelines);
    checkPipeline(`addPipeline(${JSON.stringify(name)}, pipeline)`, pipeline, 'addBus(name, bus)');
    this.pipelines.set(name, pipeline);
    this.healsSeen.set(name, new Map());
    return this;
  }

  /** Adds the conditions and event counts of a health watch (watchHealth()). */
  addHealth(watch: HealthWatch): this {
    if (!(watch instanceof HealthWatch))
      throw new InvalidOptionError(`addHealth(watch) needs the HealthWatch that watchHealth() returns, got ${describe(watch)}`);
    this.watches.add(watch);
    return this;
  }

  removeHealth(watch: HealthWatch): boolean {
    return this.watches.delete(watch);
  }

  /** Stops reporting the bus or pipeline `name`; its series disappear from the next scrape. */
  remove(name: string): boolean {
    const counts = this.healsSeen.get(name);
    if (counts !== undefined) for (const stage of counts.keys()) this.healSeconds.remove({ pipeline: name, stage });
    this.healsSeen.delete(name);
    return this.buses.delete(name) || this.pipelines.delete(name);
  }

  /** One reading of every bus and pipeline per scrape: prom-client collects every metric in one synchronous pass. */
  private read(): Snapshot {
    if (this.snapshot === undefined) {
      this.snapshot = {
        buses: [...this.buses].map(([name, bus]) => [
          name,
          { ...bus.stats(), backlog: bus.backlog(), topics: bus.topicStats(), producers: bus.producerStats() },
        ]),
        pipelines: [...this.pipelines].map(([name, pipeline]) => [name, pipeline.stats()]),
        health: [...this.watches],
      };
      queueMicrotask(() => (this.snapshot = undefined));
    }
    return this.snapshot;
  }

  private checkName(what: string, name: string, into: Map<string, unknown>): void {
    if (typeof name !== 'string' || name.length === 0)
      throw new InvalidOptionError(`a ${what} is added under a non-empty name (its label value), got ${typeof name === 'string' ? '""' : typeof name}`);
    if (into.has(name)) throw new InvalidOptionError(`a ${what} named "${name}" is already reported; remove("${name}") it first or choose another name`);
  }
}
