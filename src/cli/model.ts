import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** One scrape of a ringbus /metrics endpoint, as the live view needs it. */
export interface Scrape {
  at: number;
  /** Every sample: `name{label="value",...}` → value. */
  values: Map<string, number>;
  /** Label sets per metric name. */
  series: Map<string, Record<string, string>[]>;
}

export interface ReaderRow {
  name: string;
  kind: string;
  lagEvents: number;
  lagBytes: number;
  /** Events consumed per second since the previous scrape (undefined on the first). */
  rate: number | undefined;
  slowest: boolean;
}

export interface BusView {
  name: string;
  capacity: number;
  backlog: number;
  publishRate: number | undefined;
  /** Share of the last interval that producers spent waiting, summed over producers. */
  producerWait: number | undefined;
  closed: boolean;
  readers: ReaderRow[];
}

export interface StageRow {
  name: string;
  workers: number;
  inRate: number | undefined;
  outRate: number | undefined;
  lag: number;
  errors: number;
  deadLetters: number;
  restarts: number;
}

export interface PipelineView {
  name: string;
  spilled: number;
  standbys: number;
  stages: StageRow[];
}

export interface Condition {
  kind: string;
  subject: string;
  magnitude: number;
}

export interface View {
  buses: BusView[];
  pipelines: PipelineView[];
  health: Condition[];
}

const key = (name: string, labels: Record<string, string> = {}) =>
  `${name}{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;

export function parseScrape(text: string, at: number): Scrape {
  const values = new Map<string, number>();
  const series = new Map<string, Record<string, string>[]>();
  for (const family of parsePrometheusTextFormat(text)) {
    const sets: Record<string, string>[] = [];
    for (const sample of family.metrics) {
      if (sample.value === undefined) continue; // histograms and summaries: not shown
      values.set(key(family.name, sample.labels), Number(sample.value));
      sets.push(sample.labels ?? {});
    }
    series.set(family.name, sets);
  }
  return { at, values, series };
}

/** The view of `now`, with rates from the counters' growth since `before`. */
export function buildView(now: Scrape, before: Scrape | undefined): View {
  const get = (name: string, labels: Record<string, string>) => now.values.get(key(name, labels)) ?? 0;
  const rate = (name: string, labels: Record<string, string>) => {
    const previous = before?.values.get(key(name, labels));
    if (before === undefined || previous === undefined || now.at <= before.at) return undefined;
    return Math.max(0, (get(name, labels) - previous) / ((now.at - before.at) / 1000));
  };
  const buses = (now.series.get('ringbus_capacity_bytes') ?? []).map(({ bus }): BusView => {
    const readers = (now.series.get('ringbus_reader_lag_bytes') ?? [])
      .filter((l) => l.bus === bus)
      .map(
        (l): ReaderRow => ({
          name: l.reader,
          kind: l.kind,
          lagEvents: get('ringbus_reader_lag_events', l),
          lagBytes: get('ringbus_reader_lag_bytes', l),
          rate: rate('ringbus_reader_consumed_events_total', l),
          slowest: false,
        }),
      );
    const gating = readers.filter((r) => r.kind === 'gating' || r.kind === 'group' || r.kind === 'keyed-group');
    const slowest = gating.reduce<ReaderRow | undefined>((a, r) => (a === undefined || r.lagBytes > a.lagBytes ? r : a), undefined);
    if (slowest !== undefined && slowest.lagBytes > 0) slowest.slowest = true;
    return {
      name: bus,
      capacity: get('ringbus_capacity_bytes', { bus }),
      backlog: get('ringbus_backlog_bytes', { bus }),
      publishRate: rate('ringbus_published_events_total', { bus }),
      producerWait: rate('ringbus_producer_wait_seconds_total', { bus }),
      closed: get('ringbus_closed', { bus }) === 1,
      readers,
    };
  });
  const pipelines = (now.series.get('ringbus_pipeline_standbys_ready') ?? []).map(
    ({ pipeline }): PipelineView => ({
      name: pipeline,
      spilled: get('ringbus_pipeline_spilled_events', { pipeline }),
      standbys: get('ringbus_pipeline_standbys_ready', { pipeline }),
      stages: (now.series.get('ringbus_stage_workers') ?? [])
        .filter((l) => l.pipeline === pipeline)
        .map(
          (l): StageRow => ({
            name: l.stage,
            workers: get('ringbus_stage_workers', l),
            inRate: rate('ringbus_stage_in_events_total', l),
            outRate: rate('ringbus_stage_out_events_total', l),
            lag: get('ringbus_stage_lag_events', l),
            errors: get('ringbus_stage_errors_total', l),
            deadLetters: get('ringbus_stage_dead_letters_total', l),
            restarts: get('ringbus_stage_restarts_total', l),
          }),
        ),
    }),
  );
  const health = (now.series.get('ringbus_health_condition') ?? []).map(
    (l): Condition => ({
      kind: l.kind,
      subject: ['bus', 'pipeline', 'reader', 'stage']
        .filter((k) => l[k])
        .map((k) => `${k} ${l[k]}`)
        .join(', '),
      magnitude: get('ringbus_health_condition', l),
    }),
  );
  return { buses, pipelines, health };
}
