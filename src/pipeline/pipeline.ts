import { EventEmitter } from 'node:events';
import type { ResourceLimits } from 'node:worker_threads';
import { type AsyncOptions, attach, type Bus, type OutgoingEvent, type PublishOptions } from '../bus.js';
import { BusClosedError, InvalidOptionError, PipelineStateError, SpillOverflowError, TimeoutError } from '../errors.js';
import { signalOption } from '../abort.js';
import { publishEncodedAsync, topicIdOf } from '../internal.js';
import { checkOptions, checkTimeout } from '../options.js';
import type { BusHandle } from '../ring.js';
import type { WaitStrategyName } from '../wait-strategy.js';
import {
  BATCH_BUCKETS,
  type ControlBlock,
  STAT_BATCH_SIZES,
  STAT_BATCHES,
  STAT_BUSY_MS,
  STAT_DEAD,
  STAT_DEAD_NO_VALUE,
  STAT_ERRORS,
  STAT_HANDLER_MS,
  STAT_IN,
  STAT_OUT,
  STAT_RETRIES,
  statsIndex,
} from './control.js';
import type { StageDeclaration } from './declaration.js';
import { layOut, memberName, type Plan, type PipelineCodec, PROGRESS_TOPIC, stageOfSeat } from './plan.js';
import { RateWindow } from './rate-window.js';
import { type EdgeRates, type StageRates, toDot, toMermaid } from './render.js';
import { type Heal, Supervisor } from './supervisor.js';
import { derive, type Edge, type TopicNode, type Topology } from './topology.js';
import { stageLimits } from './worker-limits.js';

export interface PipelineOptions {
  stages: readonly StageDeclaration[];
  /** Topics published from outside the pipeline (pipeline.publish). */
  inputs?: readonly string[];
  /** Topics read from outside (pipeline.output); a produced topic no stage consumes is reported unless listed here. */
  outputs?: readonly string[];
  /**
   * Inputs an inbound bridge fills (`bridgeIn(pipeline, …)` of `ringbus/nats` or
   * `ringbus/redis`): the rings they go to keep the bridge's progress markers too.
   */
  bridgedInputs?: readonly string[];
  /** Where events go after their last failed attempt. Default 'dead-letter'. */
  deadLetterTopic?: string;
  /** Bytes of each stage's input ring (a power of two). Default 1 MiB. */
  capacity?: number;
  /** Bytes of the output ring. Default: `capacity`. */
  outputCapacity?: number;
  /** Warm standby workers, ready to replace a dead stage worker within milliseconds. Default 1; up to 3 more are kept while deaths come faster than a standby starts (none with 0). */
  standby?: number;
  /** How idle stage workers wait. Default 'block' (never spin: stages usually outnumber cores). */
  wait?: Exclude<WaitStrategyName, 'async'>;
  /** Most events waiting to re-enter a feedback loop before the pipeline fails with SpillOverflowError. Default 1,000,000. */
  maxSpill?: number;
  /**
   * What events are encoded with between stages: 'msgpack' (default), 'json', or 'raw'
   * (Uint8Array values, copied into the ring and read in place: a handler's value is a
   * view of the ring, valid until it returns). Dead letters are MessagePack whatever this is.
   */
  codec?: PipelineCodec;
  /** Longest start() waits for the workers to load their modules. Default 30 s. */
  startTimeoutMs?: number;
  /** Longest stop() waits for a worker to finish its batch before terminating it. Default 5 s. */
  stopGraceMs?: number;
  /**
   * worker_threads resourceLimits of every stage and standby worker. Default
   * `{ maxYoungGenerationSizeMb: 12 }` (V8's own is 48: see docs/MEMORY.md); what you
   * give overrides that key by key.
   */
  resourceLimits?: ResourceLimits;
}

/** The graph as data: what describe() returns. */
export interface PipelineDescription {
  stages: { name: string; consumes: readonly string[]; produces: readonly string[]; concurrency: number; component: number; inCycle: boolean }[];
  topics: readonly TopicNode[];
  edges: readonly Edge[];
  components: readonly (readonly string[])[];
  cycles: readonly (readonly string[])[];
  unconsumed: readonly string[];
  deadLetterTopic: string;
}

/**
 * Where an inbound bridge writes into a pipeline (structured-cloneable: a bridge in another
 * thread attaches to it): each ring a bridged input goes to, with the bridged topics it takes.
 */
export interface PipelineInputHandle {
  readonly kind: 'ringbus-pipeline-input';
  readonly codec: PipelineCodec;
  readonly progressTopic: string;
  readonly rings: readonly { readonly handle: BusHandle; readonly topics: readonly string[] }[];
  /** The output ring and the pipeline's dead-letter topic, for messages that cannot be decoded. */
  readonly deadLetters: { readonly handle: BusHandle; readonly topic: string };
}

export interface StageStats {
  name: string;
  workers: number;
  /** Events handled (including dead-lettered; an event redelivered after a crash counts again). */
  eventsIn: number;
  /** Events emitted, dead letters included. */
  eventsOut: number;
  /** Events handled per second over the last 1 to 1.25 s (since start(), in the first second); counters are sampled every 250 ms on the pipeline's thread. */
  rate: number;
  /** Events in the stage's ring it has not yet handled. */
  lag: number;
  /** Failed attempts: each throw, and each worker death inside a handler. */
  errors: number;
  retries: number;
  deadLetters: number;
  /** Of those, letters sent without their value: too large for the dead-letter ring even with the error cut short (`valueOmitted` in the letter). */
  deadLettersWithoutValue: number;
  restarts: number;
  /** Heal times of this stage's workers, in ms, oldest first. */
  healMs: number[];
  /** Wall-clock ms its workers spent on batches, from reading each to its cursor commit (idle waits left out). */
  busyMs: number;
  /** Of those, ms inside the handler: measured around each batch handler call; for a per-event handler, one call in 16 is timed (× 16). */
  handlerMs: number;
  /** Batches handled; `eventsIn / batches` is the mean batch size. */
  batches: number;
  /** Batches of 1, 2, 3–4, 5–8, 9–16, 17–32, 33–64, 65–128, 129–256 and over 256 events. */
  batchSizes: number[];
}

export interface PipelineStats {
  stages: StageStats[];
  /** Events currently waiting to re-enter a feedback loop. */
  spilled: number;
  /** Events that ever had to wait outside a feedback loop's ring. */
  spilledTotal: number;
  heal: { count: number; p50Ms: number; p99Ms: number; maxMs: number };
  standbysReady: number;
}

const OPTIONS: readonly (keyof PipelineOptions)[] = [
  'stages',
  'inputs',
  'outputs',
  'bridgedInputs',
  'deadLetterTopic',
  'capacity',
  'outputCapacity',
  'standby',
  'wait',
  'maxSpill',
  'codec',
  'startTimeoutMs',
  'stopGraceMs',
  'resourceLimits',
];

function describeTopology(topology: Topology): PipelineDescription {
  const inCycle = new Set(topology.cycles.flat());
  return {
    stages: topology.stages.map((s) => ({
      name: s.name,
      consumes: s.consumes,
      produces: s.produces,
      concurrency: s.concurrency,
      component: topology.componentOf[s.index],
      inCycle: inCycle.has(s.name),
    })),
    topics: topology.topics,
    edges: topology.edges,
    components: topology.components,
    cycles: topology.cycles,
    unconsumed: topology.unconsumed,
    deadLetterTopic: topology.deadLetterTopic,
  };
}

/**
 * Derives and validates a pipeline's topology without creating anything: the graph as
 * data, or rendered as Mermaid or DOT. Throws the same typed errors as createPipeline().
 */
export function describePipeline(options: Pick<PipelineOptions, 'stages' | 'inputs' | 'outputs' | 'deadLetterTopic'>): PipelineDescription;
export function describePipeline(options: Pick<PipelineOptions, 'stages' | 'inputs' | 'outputs' | 'deadLetterTopic'>, format: 'mermaid' | 'dot'): string;
export function describePipeline(
  options: Pick<PipelineOptions, 'stages' | 'inputs' | 'outputs' | 'deadLetterTopic'>,
  format?: 'mermaid' | 'dot',
): PipelineDescription | string {
  if (options === undefined) throw new InvalidOptionError('describePipeline() needs { stages, inputs, outputs }');
  checkOptions('describePipeline() options', options, ['stages', 'inputs', 'outputs', 'deadLetterTopic']);
  return render(derive(options), format);
}

function render(topology: Topology, format?: 'mermaid' | 'dot', rates?: StageRates, edgeRates?: EdgeRates): PipelineDescription | string {
  if (format === undefined) return describeTopology(topology);
  if (format === 'mermaid') return toMermaid(topology, rates, edgeRates);
  if (format === 'dot') return toDot(topology, rates, edgeRates);
  throw new InvalidOptionError(`describe() renders 'mermaid' or 'dot', got ${String(format)}`);
}

/** Derives, validates and lays out a pipeline (its rings and readers); start() runs it. */
export function createPipeline(options: PipelineOptions): Pipeline {
  if (options === undefined) throw new InvalidOptionError('createPipeline() needs { stages, inputs, outputs }');
  checkOptions('createPipeline() options', options, OPTIONS);
  return new Pipeline(options);
}

/** The declared bridged inputs, checked. */
function bridgedInputs(topology: Topology, declared: readonly string[] | undefined, codec: PipelineCodec): ReadonlySet<string> {
  if (declared === undefined) return new Set();
  if (!Array.isArray(declared)) throw new InvalidOptionError(`bridgedInputs must be an array of input topics, got ${JSON.stringify(declared)}`);
  for (const topic of declared) {
    if (!topology.topics.some((t) => t.name === topic && t.input))
      throw new InvalidOptionError(`bridgedInputs: "${topic}" is not an input of this pipeline; declare it in inputs as well`);
  }
  if (declared.length > 0 && codec === 'raw')
    throw new InvalidOptionError("bridgedInputs need a pipeline codec that carries the bridge's progress markers: 'msgpack' or 'json', not 'raw'");
  if (topology.topics.some((t) => t.name === PROGRESS_TOPIC))
    throw new InvalidOptionError(`"${PROGRESS_TOPIC}" is the topic of a bridge's progress markers in a pipeline with bridgedInputs; name your topic otherwise`);
  return new Set(declared);
}

function positive(name: string, value: number | undefined, fallback: number, integer = false): number {
  if (value === undefined) return fallback;
  if (!(value > 0) || (integer && !Number.isInteger(value)))
    throw new InvalidOptionError(`${name} must be a positive ${integer ? 'integer' : 'number'}, got ${String(value)}`);
  return value;
}

type State = 'created' | 'running' | 'stopped' | 'closed';

/**
 * Stages on worker threads, wired by what they consume and produce. Events enter with
 * publish(), leave through `output` (a bus: open a reader on it), and failed events go to
 * the dead-letter topic. Emits 'heal' ({ stage, worker, ms, standby }) when a dead
 * worker was replaced, and 'error' when the pipeline cannot go on (a spill overflow).
 */
export class Pipeline extends EventEmitter {
  readonly topology: Topology;
  /** The ring the pipeline's outputs and dead letters go to: open readers on it before publishing. */
  readonly output: Bus;
  private readonly plan: Plan;
  private readonly buses: Bus[];
  private readonly control: ControlBlock;
  private readonly supervisor: Supervisor;
  private readonly inputs: Set<string>;
  private readonly bridged: ReadonlySet<string>;
  private readonly maxSpill: number;
  private readonly startTimeoutMs: number;
  private readonly stopGraceMs: number;
  private state: State = 'created';
  /** The start(), stop() or close() in progress or last done: the next one runs after it. */
  private lifecycle: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  /** close() was called (it may still be stopping the workers). */
  private closing = false;
  /** Per ring, spills in order; with `kept`, forwarded records' payloads (see Spill). */
  private spillQueues: { events: OutgoingEvent[]; letters: boolean; kept?: number[] }[][];
  /** The rings again, publishing in MessagePack: for spilled dead letters. */
  private readonly letterBuses: Bus[];
  private spillPumps: (Promise<void> | undefined)[];
  private spilled = 0;
  private spilledTotal = 0;
  /** Each stage's events in, then each stage's events out, then each ring's events per topic (see ringTopics). */
  private readonly rates = new RateWindow(() => [...this.flowCounts(), ...this.ringTopicCounts()]);
  /** Rings with tryPublish() copies still waiting in publishAsync, and how many. */
  private readonly queued = new Map<Bus, number>();

  /** @internal use createPipeline() */
  constructor(options: PipelineOptions) {
    super();
    this.topology = derive(options);
    for (const topic of this.topology.unconsumed) {
      const by = this.topology.topics.find((t) => t.name === topic)!.producers;
      process.emitWarning(
        `pipeline: topic "${topic}" is produced by ${by.map((s) => `"${s}"`).join(', ')} but consumed by no stage and not declared an output; its events go to the output ring all the same. Declare it in outputs, or add it to a stage's consumes`,
        { type: 'RingbusWarning', code: 'RINGBUS_UNCONSUMED_TOPIC' },
      );
    }
    const capacity = positive('capacity', options.capacity, 1 << 20, true);
    const standby = options.standby ?? 1;
    if (!Number.isInteger(standby) || standby < 0) throw new InvalidOptionError(`standby must be an integer ≥ 0, got ${String(standby)}`);
    const wait = options.wait ?? 'block';
    if (wait !== 'block' && wait !== 'yield' && wait !== 'spin')
      throw new InvalidOptionError(`wait must be 'block', 'yield' or 'spin' (stage workers run no event loop while they wait), got ${String(wait)}`);
    const codec = options.codec ?? 'msgpack';
    if (codec !== 'msgpack' && codec !== 'json' && codec !== 'raw') {
      throw new InvalidOptionError(
        `a pipeline's codec is 'msgpack', 'json' or 'raw' (by name: its workers load it themselves), got ${typeof codec === 'string' ? `"${codec}"` : typeof codec}`,
      );
    }
    this.maxSpill = positive('maxSpill', options.maxSpill, 1_000_000, true);
    this.startTimeoutMs = positive('startTimeoutMs', options.startTimeoutMs, 30_000);
    this.stopGraceMs = positive('stopGraceMs', options.stopGraceMs, 5_000);
    const resourceLimits = stageLimits(options.resourceLimits);
    this.bridged = bridgedInputs(this.topology, options.bridgedInputs, codec);
    const laidOut = layOut(this.topology, {
      capacity,
      outputCapacity: positive('outputCapacity', options.outputCapacity, capacity, true),
      wait,
      codec,
      bridged: this.bridged,
    });
    this.letterBuses = codec === 'msgpack' ? laidOut.buses : laidOut.buses.map((bus) => attach(bus.handle, { wait, codec: 'msgpack' }));
    this.plan = laidOut.plan;
    this.buses = laidOut.buses;
    this.control = laidOut.control;
    this.output = this.buses[this.buses.length - 1];
    this.inputs = new Set(this.topology.topics.filter((t) => t.input).map((t) => t.name));
    this.spillQueues = this.buses.map(() => []);
    this.spillPumps = this.buses.map(() => undefined);
    this.supervisor = new Supervisor(
      this.plan,
      this.control,
      standby,
      resourceLimits,
      (m) => this.spill(m.ring, m.events, m.letters, m.kept),
      (heal) => this.healed(heal),
      (error) => this.fail(error),
    );
  }

  /** The handle of the output ring, for readers in other threads: attach(pipeline.outputHandle). */
  get outputHandle(): BusHandle {
    return this.output.handle;
  }

  /** Where an inbound bridge writes into this pipeline: `bridgeIn(pipeline.inputHandle, …)` in another thread. */
  get inputHandle(): PipelineInputHandle {
    const rings = this.topology.stages
      .map((stage) => ({ handle: this.buses[stage.index].handle, topics: stage.consumes.filter((t) => this.bridged.has(t)) }))
      .filter((ring) => ring.topics.length > 0);
    return {
      kind: 'ringbus-pipeline-input',
      codec: this.plan.codec,
      progressTopic: PROGRESS_TOPIC,
      rings,
      deadLetters: { handle: this.output.handle, topic: this.topology.deadLetterTopic },
    };
  }

  /**
   * The topology as data, or rendered as Mermaid or DOT; `{ rates: true }` writes each
   * stage's events in and out per second (over the last second, as in stats()) into its
   * node, and onto each edge the events per second of its topic into the ring it leads to
   * (a stage's, or the output ring).
   */
  describe(): PipelineDescription;
  describe(format: 'mermaid' | 'dot', options?: { rates?: boolean }): string;
  describe(format?: 'mermaid' | 'dot', options?: { rates?: boolean }): PipelineDescription | string {
    checkOptions('describe() options', options, ['rates']);
    if (options?.rates !== undefined && typeof options.rates !== 'boolean')
      throw new InvalidOptionError(`describe() option rates is true or false, got ${String(options.rates)}`);
    if (!options?.rates || format === undefined) return render(this.topology, format);
    const n = this.topology.stages.length;
    const rates = this.rates.rates([...this.flowCounts(), ...this.ringTopicCounts()]);
    const keys = this.ringTopics();
    const edge = new Map(keys.map(([ring, topic], k) => [`${ring}\u0000${topic}`, rates[2 * n + k]]));
    const ringOf = (stage: string | null) => (stage === null ? this.buses.length - 1 : this.topology.stages.find((s) => s.name === stage)?.index);
    return render(this.topology, format, new Map(this.topology.stages.map((s, i) => [s.name, { in: rates[i], out: rates[n + i] }])), (to, topic) =>
      edge.get(`${ringOf(to)}\u0000${topic}`),
    );
  }

  /** Every ring's topics (a bridge's progress markers left out), in ring order: the keys of ringTopicCounts(). */
  private ringTopics(): [number, string][] {
    return this.buses.flatMap((bus, ring) => bus.topics.filter((t) => t !== PROGRESS_TOPIC).map((topic): [number, string] => [ring, topic]));
  }

  /** Events published per ring and topic, from every thread's counters. */
  private ringTopicCounts(): number[] {
    return this.buses.flatMap((bus) =>
      bus
        .topicStats()
        .filter((t) => t.topic !== PROGRESS_TOPIC)
        .map((t) => t.events),
    );
  }

  /**
   * Starts every stage's workers and the warm standbys; resolves once all loaded their modules.
   * start(), stop() and close() take effect in the order they were called, each once the
   * one before it has finished: a stop() or close() called while start() is in flight
   * stops the pipeline once it has started.
   */
  start(): Promise<void> {
    return this.inTurn(async () => {
      this.checkNotClosed();
      if (this.state === 'running') throw new PipelineStateError('the pipeline is already running; stop() it first to start it again');
      this.state = 'running';
      this.rates.start();
      try {
        await this.supervisor.start(this.startTimeoutMs);
      } catch (error) {
        this.state = 'stopped';
        throw error;
      }
    });
  }

  // No blocking publish: the supervisor runs on this thread's event loop, and a thread
  // blocked on a full ring could not replace the dead worker that should empty it.

  /** Publishes into an input topic (into the ring of every stage that consumes it), waiting for space without blocking the event loop. */
  async publishAsync(topic: string, value: unknown, options?: PublishOptions): Promise<void> {
    await this.intoEvery(this.route(topic).map((bus) => bus.publishAsync(topic, value, options)));
  }

  /**
   * Waits for a publish into every ring of a topic. All were started at the call, each
   * queued in its ring behind this thread's earlier ones: awaiting one ring before starting
   * the next let a later call reach the next ring first. Rejects with the first failure, once
   * every ring has settled.
   */
  private async intoEvery(publishes: Promise<void>[]): Promise<void> {
    const failed = (await Promise.allSettled(publishes)).find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) this.closedUnder(failed.reason);
  }

  /** A publish waiting for space when close() was called: refused as a publish after it is. */
  private closedUnder(error: unknown): never {
    if (error instanceof BusClosedError && this.closing) this.checkNotClosing();
    throw error;
  }

  /**
   * Publishes if the first ring the topic goes to has space now, and returns false
   * otherwise. Never waits: where the topic goes to several stages, the copies for the
   * others that do not fit now follow asynchronously, in order with this thread's other
   * publishes.
   */
  tryPublish(topic: string, value: unknown): boolean {
    const [first, ...others] = this.route(topic);
    if (this.queued.has(first) || !first.tryPublish(topic, value)) return false;
    for (const bus of others) {
      // behind copies still queued for this ring, or it would overtake them
      if (!this.queued.has(bus) && bus.tryPublish(topic, value)) continue;
      this.queued.set(bus, (this.queued.get(bus) ?? 0) + 1);
      void bus
        .publishAsync(topic, value)
        .catch((error: Error) => this.fail(error))
        .finally(() => {
          const left = this.queued.get(bus)! - 1;
          if (left === 0) this.queued.delete(bus);
          else this.queued.set(bus, left);
        });
    }
    return true;
  }

  async publishBatchAsync(topic: string, values: readonly unknown[], options?: PublishOptions): Promise<void> {
    await this.intoEvery(this.route(topic).map((bus) => bus.publishBatchAsync(topic, values, options)));
  }

  /**
   * Resolves once the pipeline is quiescent: every event published before (and everything
   * it led to, through loops too) handled by every stage, nothing waiting to re-enter a
   * loop, every dead worker replaced. Keeps waiting while publishers go on publishing.
   */
  async drain(options?: AsyncOptions): Promise<void> {
    checkOptions('drain() options', options, ['timeoutMs', 'signal']);
    const timeoutMs = options?.timeoutMs === undefined ? Infinity : checkTimeout('drain() timeoutMs', options.timeoutMs);
    const signal = signalOption('drain()', options);
    this.checkNotClosing();
    signal?.throwIfAborted();
    const deadline = performance.now() + timeoutMs;
    const stageBuses = this.buses.slice(0, this.topology.stages.length);
    for (;;) {
      if (this.failure) throw this.failure;
      // Tails, then backlogs, then the spill gauge, then the tails again: equal tails mean
      // nothing was published while the rest was read, so an empty backlog everywhere is a
      // consistent picture. A stage publishes what a batch produced before its cursor commit.
      const before = stageBuses.map((b) => b.stats().tail);
      const idle =
        this.queued.size === 0 &&
        this.supervisor.healing === 0 &&
        stageBuses.every((_, i) => this.backlog(i) === 0) &&
        this.supervisor.spillInFlight === 0 &&
        this.spilled === 0;
      if (idle && stageBuses.every((b, i) => b.stats().tail === before[i])) {
        this.supervisor.countHeals(); // every heal is recorded by now: its 'heal' event comes before drain() resolves
        return;
      }
      if (performance.now() >= deadline) throw new TimeoutError(`pipeline drain() (${this.whyBusy()})`, timeoutMs);
      if (this.state !== 'running') throw new PipelineStateError('drain() needs a running pipeline: call start() first (events wait in the rings until then)');
      await new Promise((resolve) => setTimeout(resolve, 1));
      signal?.throwIfAborted();
    }
  }

  /**
   * Stops every worker after the batch in hand; positions stay committed, so start()
   * resumes where it stopped. Events in the rings stay there.
   */
  stop(): Promise<void> {
    return this.inTurn(() => this.stopWorkers());
  }

  /**
   * Stops the workers and closes every ring. The pipeline cannot be used again. Events
   * still waiting to re-enter a feedback loop are dropped: drain() first to keep them.
   */
  close(): Promise<void> {
    // From the call on: a publish accepted now would be dropped by the close under way.
    this.closing = true;
    return this.inTurn(async () => {
      if (this.state === 'closed') return;
      await this.stopWorkers();
      this.state = 'closed';
      this.rates.stop();
      for (const bus of this.buses) bus.close();
    });
  }

  private async stopWorkers(): Promise<void> {
    if (this.state !== 'running') return;
    this.state = 'stopped';
    await this.supervisor.stop(this.stopGraceMs);
  }

  /**
   * Runs a lifecycle call after the one before it, whatever that one's outcome. Overlapping
   * calls once ran side by side: a close() during start() closed the rings under a
   * supervisor it never stopped, which restarted workers on them for ever.
   */
  private inTurn(call: () => Promise<void>): Promise<void> {
    const turn = this.lifecycle.then(call);
    this.lifecycle = turn.catch(() => undefined);
    return turn;
  }

  /**
   * Terminates the worker running `worker` (0-based) of stage `stage`, as a crash would.
   * For fault-injection tests: the pipeline heals it like any other death.
   */
  async kill(stage: string, worker = 0): Promise<void> {
    const found = this.topology.stages.find((s) => s.name === stage);
    if (found === undefined) throw new InvalidOptionError(`no stage is named "${stage}"`);
    if (!Number.isInteger(worker) || worker < 0 || worker >= found.concurrency)
      throw new InvalidOptionError(`stage "${stage}" has workers 0 to ${found.concurrency - 1}, got ${worker}`);
    await this.lifecycle; // a start() called before this one first
    this.checkNotClosed();
    if (this.state !== 'running') throw new PipelineStateError(`kill() needs a running pipeline: start() it first (stage "${stage}" has no worker now)`);
    await this.supervisor.kill(this.plan.firstSeat[found.index] + worker);
  }

  stats(): PipelineStats {
    const eventsIn = this.topology.stages.map((_, i) => this.stageCount(i, STAT_IN));
    const rates = this.rates.rates(this.flowCounts());
    const all: number[] = [];
    const stages = this.topology.stages.map((stage, i) => {
      const sum = (field: number) => this.stageCount(i, field);
      let restarts = 0;
      const healMs: number[] = [];
      for (let m = 0; m < stage.concurrency; m++) restarts += this.supervisor.restarts[this.plan.firstSeat[stage.index] + m];
      for (const heal of this.supervisor.heals) {
        if (heal.seat >= this.plan.firstSeat[stage.index] && heal.seat < this.plan.firstSeat[stage.index] + stage.concurrency) healMs.push(heal.ms);
      }
      all.push(...healMs);
      const reader = this.buses[stage.index].stats().readers.find((r) => r.name === (stage.concurrency > 1 ? stage.name : memberName(stage, 0)));
      return {
        name: stage.name,
        workers: stage.concurrency,
        eventsIn: eventsIn[i],
        eventsOut: sum(STAT_OUT),
        rate: rates[i],
        lag: reader?.lagEvents ?? 0,
        errors: sum(STAT_ERRORS),
        retries: sum(STAT_RETRIES),
        deadLetters: sum(STAT_DEAD),
        deadLettersWithoutValue: sum(STAT_DEAD_NO_VALUE),
        restarts,
        healMs,
        busyMs: sum(STAT_BUSY_MS),
        batches: sum(STAT_BATCHES),
        batchSizes: Array.from({ length: BATCH_BUCKETS }, (_, k) => sum(STAT_BATCH_SIZES + k)),
        handlerMs: sum(STAT_HANDLER_MS),
      };
    });
    all.sort((a, b) => a - b);
    const pick = (q: number) => (all.length === 0 ? 0 : all[Math.min(all.length - 1, Math.ceil(q * all.length) - 1)]);
    return {
      stages,
      spilled: this.spilled,
      spilledTotal: this.spilledTotal,
      heal: { count: all.length, p50Ms: pick(0.5), p99Ms: pick(0.99), maxMs: all.length === 0 ? 0 : all[all.length - 1] },
      standbysReady: this.supervisor.standbysReady,
    };
  }

  private flowCounts(): number[] {
    const stages = this.topology.stages;
    return [...stages.map((_, i) => this.stageCount(i, STAT_IN)), ...stages.map((_, i) => this.stageCount(i, STAT_OUT))];
  }

  /** A stage's counter `field`, summed over its workers. */
  private stageCount(stage: number, field: number): number {
    const { stats, firstSeat } = this.plan;
    let total = 0;
    for (let m = 0; m < this.topology.stages[stage].concurrency; m++) total += stats[statsIndex(firstSeat[stage] + m, field)];
    return total;
  }

  /** What drain() was still waiting for, in words. */
  private whyBusy(): string {
    const reasons: string[] = [];
    const behind = this.topology.stages.filter((stage) => this.backlog(stage.index) > 0).map((s) => `"${s.name}"`);
    if (behind.length > 0) reasons.push(`stages ${behind.join(', ')} have events left`);
    const out = this.output.stats();
    if (this.output.backlog() > out.capacity - this.output.maxPayload - 16) {
      const slow = out.readers.filter((r) => r.kind !== 'lossy reader' && r.kind !== 'group member' && r.lagBytes > out.capacity / 2).map((r) => `"${r.name}"`);
      reasons.push(`the output ring is full: read its readers (${slow.join(', ')}) while publishing, or open them lossy`);
    }
    if (this.spilled > 0) reasons.push(`${this.spilled} events wait to re-enter a loop`);
    if (this.supervisor.healing > 0) reasons.push(`${this.supervisor.healing} workers are being replaced`);
    return reasons.length > 0 ? reasons.join('; ') : 'events in flight';
  }

  /** Bytes of stage `ring`'s ring its stage has not handled yet. */
  private backlog(ring: number): number {
    const bus = this.buses[ring];
    if (!bus.topics.includes(PROGRESS_TOPIC)) return bus.backlog();
    // A bridge's newest progress marker stays in the ring on purpose: only the stage's readers count.
    return Math.max(
      0,
      ...bus
        .stats()
        .readers.filter((r) => !r.name.startsWith('bridge-in:'))
        .map((r) => r.lagBytes),
    );
  }

  private route(topic: string): Bus[] {
    this.checkNotClosing();
    if (this.failure) throw this.failure;
    if (!this.inputs.has(topic)) {
      throw new InvalidOptionError(
        `"${topic}" is not an input of this pipeline; its inputs are [${[...this.inputs].join(', ')}]: declare it in createPipeline({ inputs })`,
      );
    }
    return this.plan.routes[topic].map((ring) => this.buses[ring]);
  }

  private checkNotClosed(): void {
    if (this.state === 'closed') throw new PipelineStateError('the pipeline is closed; create a new one');
  }

  /** For publishes and drain(): refused from the moment close() is called (lifecycle calls queue behind it instead). */
  private checkNotClosing(): void {
    if (this.closing) throw new PipelineStateError(`the pipeline is ${this.state === 'closed' ? 'closed' : 'closing'}; create a new one`);
  }

  /** Events a loop stage could not publish without waiting: published from here, later, in order per ring. */
  private spill(ring: number, events: OutgoingEvent[], letters: boolean, kept?: number[]): void {
    this.spilled += events.length;
    this.spilledTotal += events.length;
    if (this.spilled > this.maxSpill && this.failure === undefined) this.fail(new SpillOverflowError(this.maxSpill));
    this.spillQueues[ring].push({ events, letters, kept });
    this.spillPumps[ring] ??= this.pump(ring);
  }

  private async pump(ring: number): Promise<void> {
    const queue = this.spillQueues[ring];
    try {
      while (queue.length > 0) {
        const { events, letters, kept } = queue[0];
        const bus = (letters ? this.letterBuses : this.buses)[ring];
        try {
          if (kept === undefined) await bus.publishEventsAsync(events);
          else
            await publishEncodedAsync(
              bus,
              events.map((e) => topicIdOf(bus, e.topic)),
              events.map((e) => e.value as Uint8Array),
              kept,
            );
        } catch (error) {
          if (error instanceof BusClosedError) return; // closed: what was still waiting is dropped with the pipeline
          // Not this thread's to throw (nothing awaits the pump): the pipeline fails, and this ring's spill stops.
          this.fail(error as Error);
          return;
        }
        queue.shift();
        this.spilled -= events.length;
      }
    } finally {
      this.spillPumps[ring] = undefined;
    }
  }

  private fail(error: Error): void {
    this.failure ??= error;
    if (this.listenerCount('error') > 0) this.emit('error', error);
  }

  private healed(heal: Heal): void {
    const { stage, member } = stageOfSeat(this.plan, heal.seat);
    this.emit('heal', { stage: stage.name, worker: member, ms: heal.ms, standby: heal.standby });
  }
}
