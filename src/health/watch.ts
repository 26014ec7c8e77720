import { EventEmitter } from 'node:events';
import type { Bus } from '../bus.js';
import { BusClosedError, InvalidOptionError } from '../errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import * as V from '../validate.js';
import { type BusSample, DEFAULT_THRESHOLDS, Detector, type Finding, type HealthKind, type HealthSubject, type HealthThresholds } from './detector.js';
import { checkBus, checkPipeline } from './subjects.js';

export type { HealthKind, HealthThresholds };

/** What watchHealth() reports: a condition raised, or (kind 'recovered') one that cleared. */
export interface HealthEvent extends HealthSubject {
  kind: HealthKind | 'recovered';
  /** For 'recovered': the kind of the condition that cleared. */
  recovered?: HealthKind;
  /** How bad: events behind (slow consumer, stalled), the share of time producers waited, dead letters or restarts in the window. For 'recovered', the condition's last magnitude. */
  magnitude: number;
  /** What is happening and what to look at. */
  message: string;
  /** Wall-clock time, ms since the epoch. */
  at: number;
}

export interface HealthOptions {
  /** Buses to watch, by the name the events give them. */
  buses?: Record<string, Bus>;
  /** Pipelines to watch, by name. */
  pipelines?: Record<string, Pipeline>;
  /** Where to publish the events as well: a bus with the topic `opsTopic`. */
  publishTo?: Bus;
  /** Default 'ops'. */
  opsTopic?: string;
  /** How often the figures are read. Default 1000 ms. */
  intervalMs?: number;
  thresholds?: Partial<HealthThresholds>;
}

const OPTIONS: readonly (keyof HealthOptions)[] = ['buses', 'pipelines', 'publishTo', 'opsTopic', 'intervalMs', 'thresholds'];

/**
 * Watches buses and pipelines and emits 'health' with a HealthEvent when a condition
 * arises, and once more (kind 'recovered') when it clears. Reads the same counters as
 * stats(), on a timer of its own (unreferenced: it keeps no process alive).
 */
export class HealthWatch extends EventEmitter {
  readonly #detector: Detector;
  readonly #active = new Map<string, { finding: Finding; seen: number; raised: HealthEvent }>();
  readonly #clearMs: number;
  readonly #reported = new Map<HealthEvent['kind'], number>();
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #buses: [string, Bus][];
  readonly #pipelines: [string, Pipeline][];
  readonly #options: HealthOptions & { opsTopic: string };

  /** Use watchHealth(). */
  constructor(options: HealthOptions & { opsTopic: string }, thresholds: HealthThresholds, intervalMs: number) {
    super();
    this.#options = options;
    this.#detector = new Detector(thresholds);
    this.#clearMs = thresholds.clearSeconds * 1000;
    this.#buses = Object.entries(options.buses ?? {});
    this.#pipelines = Object.entries(options.pipelines ?? {});
    // The first reading now, not at the first tick: counters are then counted from the
    // call on (dead letters or restarts within the first intervalMs would be missed).
    // Nothing can hold on one reading, so it reports nothing.
    this.#detector.findings(performance.now(), ...this.#read());
    this.#timer = setInterval(() => {
      try {
        this.check();
      } catch (error) {
        this.emit('error', error); // a figure that could not be read (an 'error' nobody listens to throws, as in any EventEmitter)
      }
    }, intervalMs);
    this.#timer.unref();
  }

  /** The conditions that hold now: `at` when each was raised, magnitude and message of the latest reading. */
  conditions(): HealthEvent[] {
    return [...this.#active.values()].map(({ finding, raised }) => ({ ...this.#event(finding, finding.kind), at: raised.at }));
  }

  /** Events reported since the watch began, per kind ('recovered' included). */
  counts(): Map<HealthEvent['kind'], number> {
    return new Map(this.#reported);
  }

  /** Stops watching. Conditions still active are not reported as recovered. */
  close(): void {
    clearInterval(this.#timer);
  }

  /** Reads every figure once and reports what changed; the timer calls it, tests and tools may too. */
  check(): void {
    const now = performance.now();
    const findings = this.#detector.findings(now, ...this.#read());
    const current = new Set<string>();
    for (const finding of findings) {
      current.add(finding.key);
      const known = this.#active.get(finding.key);
      const raised = known?.raised ?? this.#event(finding, finding.kind);
      this.#active.set(finding.key, { finding, seen: now, raised });
      if (known === undefined) this.#report(raised);
    }
    for (const [key, { finding, seen }] of this.#active) {
      if (current.has(key) || now - seen < this.#clearMs) continue; // one reading without it is not yet a recovery
      this.#active.delete(key);
      const event = this.#event(finding, 'recovered');
      event.recovered = finding.kind;
      event.message = `recovered: ${finding.kind} of ${subject(finding)} cleared`;
      this.#report(event);
    }
  }

  /** The figures of every bus and pipeline watched, read once. */
  #read(): [[string, BusSample][], [string, ReturnType<Pipeline['stats']>][]] {
    return [
      this.#buses.map(([name, bus]) => [name, { ...bus.stats(), backlog: bus.backlog(), maxPayload: bus.maxPayload }]),
      this.#pipelines.map(([name, p]) => [name, p.stats()]),
    ];
  }

  #event(f: Finding, kind: HealthEvent['kind']): HealthEvent {
    const event: HealthEvent = { kind, magnitude: f.magnitude, message: f.message, at: Date.now() };
    if (f.bus !== undefined) event.bus = f.bus;
    if (f.pipeline !== undefined) event.pipeline = f.pipeline;
    if (f.reader !== undefined) event.reader = f.reader;
    if (f.stage !== undefined) event.stage = f.stage;
    return event;
  }

  #report(event: HealthEvent): void {
    this.#reported.set(event.kind, (this.#reported.get(event.kind) ?? 0) + 1);
    this.emit('health', event);
    const bus = this.#options.publishTo;
    if (bus === undefined || bus.closed) return;
    // never block the watcher: a full ring (often the very condition reported) takes it once it has room
    let published: boolean;
    try {
      published = bus.tryPublish(this.#options.opsTopic, event);
    } catch (error) {
      this.emit('error', error); // an 'error' nobody listens to throws: a lost health event is not silent
      return;
    }
    if (!published) {
      bus.publishAsync(this.#options.opsTopic, event).catch((error: Error) => {
        if (!(error instanceof BusClosedError)) this.emit('error', error);
      });
    }
  }
}

function subject(f: Finding): string {
  if (f.reader !== undefined) return `reader "${f.reader}" of bus "${f.bus}"`;
  if (f.stage !== undefined) return `stage "${f.stage}" of pipeline "${f.pipeline}"`;
  return f.bus !== undefined ? `bus "${f.bus}"` : `pipeline "${f.pipeline}"`;
}

/** Starts watching buses and pipelines for the conditions of docs/OBSERVABILITY.md. */
export function watchHealth(options: HealthOptions): HealthWatch {
  V.knownOptions('watchHealth() options', options, OPTIONS);
  if (options === undefined) throw new InvalidOptionError('watchHealth() needs options: { buses, pipelines } to watch');
  const intervalMs = options.intervalMs ?? 1000;
  if (typeof intervalMs !== 'number' || !(intervalMs >= 10) || !Number.isFinite(intervalMs))
    throw new InvalidOptionError(`intervalMs must be a number of milliseconds ≥ 10, got ${V.describe(intervalMs)}`);
  V.knownOptions('watchHealth() thresholds', options.thresholds, Object.keys(DEFAULT_THRESHOLDS));
  const thresholds = { ...DEFAULT_THRESHOLDS, ...options.thresholds };
  for (const [name, value] of Object.entries(thresholds)) {
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
      throw new InvalidOptionError(`threshold ${name} must be a positive number, got ${V.describe(value)}`);
  }
  for (const what of ['buses', 'pipelines'] as const) {
    const given = options[what];
    if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given)))
      throw new InvalidOptionError(`watchHealth() ${what} is an object of name: ${what === 'buses' ? 'bus' : 'pipeline'}, got ${V.describe(given)}`);
  }
  // a value that is not a Bus or Pipeline is refused now, not by a TypeError at each reading
  for (const [name, bus] of Object.entries(options.buses ?? {})) {
    const where = `watchHealth() buses[${JSON.stringify(name)}]`;
    checkBus(where, bus, 'buses: { name: bus }', 'watch it under pipelines: { name: pipeline }, or its output ring under buses: { name: pipeline.output }');
  }
  for (const [name, pipeline] of Object.entries(options.pipelines ?? {}))
    checkPipeline(`watchHealth() pipelines[${JSON.stringify(name)}]`, pipeline, 'buses: { name: bus }');
  const opsTopic = options.opsTopic ?? 'ops';
  if (options.publishTo !== undefined)
    checkBus('watchHealth() publishTo', options.publishTo, 'publishTo', "publish the events on a bus with the ops topic: createBus({ topics: ['ops'] })");
  if (options.publishTo !== undefined && !options.publishTo.topics.includes(opsTopic)) {
    throw new InvalidOptionError(
      `publishTo's bus has no topic "${opsTopic}" (its topics are [${options.publishTo.topics.join(', ')}]): create it with that topic or name another in opsTopic`,
    );
  }
  return new HealthWatch({ ...options, opsTopic }, thresholds, intervalMs);
}
