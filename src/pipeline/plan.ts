import { type Bus, createBus } from '../bus.js';
import type { BusHandle } from '../ring.js';
import type { WaitStrategyName } from '../wait-strategy.js';
import { type ControlBlock, createControl } from './control.js';
import type { Stage } from './declaration.js';
import type { Topology } from './topology.js';

/**
 * How a pipeline is laid out in shared memory, as sent to every worker (structured-cloneable).
 *
 * Each stage reads its own ring (its mailbox) and every producer of a topic writes into the
 * ring of each stage that consumes it; the pipeline's outputs go to one more ring. A stage
 * blocked on a full ring therefore waits only for stages downstream of it, and by induction
 * from the sinks every such wait ends: no deadlock in a DAG. Inside a feedback loop that
 * induction fails, so edges between stages of one strongly connected component never wait
 * (see StageRunner's flush): what does not fit goes to the supervisor and re-enters later.
 */
export interface Plan {
  readonly stages: readonly Stage[];
  /** Ring r is stage r's mailbox; the last ring carries the outputs. */
  readonly rings: readonly BusHandle[];
  /** Topic → the rings its events are published into (dead letters of the stages that consume them go to the output ring instead). */
  readonly routes: Readonly<Record<string, readonly number[]>>;
  readonly componentOf: readonly number[];
  readonly deadLetterTopic: string;
  /** First seat of each stage; a stage's workers take consecutive seats. */
  readonly firstSeat: readonly number[];
  readonly controlWords: Int32Array;
  readonly stats: Float64Array;
  /** Seats in all: the stages' concurrency summed. */
  readonly seats: number;
  readonly wait: WaitStrategyName;
  /** What stages and the pipeline's publishes encode with; dead letters are always MessagePack. */
  readonly codec: PipelineCodec;
}

/** Codecs a pipeline can use: by name, since functions do not cross threads. */
export type PipelineCodec = 'msgpack' | 'json' | 'raw';

export interface PlanOptions {
  capacity: number;
  outputCapacity: number;
  wait: WaitStrategyName;
  codec: PipelineCodec;
  timeoutMs?: number;
  /** Input topics an inbound bridge fills: the rings they go to get PROGRESS_TOPIC as well. */
  bridged?: ReadonlySet<string>;
}

/**
 * The topic of a bridge's progress markers in the rings it fills: a marker lands in the same
 * claim as the events it covers, so a restarted bridge knows what each ring already holds.
 */
export const PROGRESS_TOPIC = 'ringbus-bridge-progress';

/** Creates the rings, reserves every stage's reader in them and returns the plan and buses. */
export function layOut(topology: Topology, options: PlanOptions): { plan: Plan; buses: Bus[]; control: ControlBlock } {
  const busOptions = { wait: options.wait, timeoutMs: options.timeoutMs, codec: options.codec };
  const bridged = options.bridged ?? new Set<string>();
  // Last: the stage's topic ids stay those of its consumes.
  const topicsOf = (stage: Stage) => (stage.consumes.some((t) => bridged.has(t)) ? [...stage.consumes, PROGRESS_TOPIC] : stage.consumes);
  const buses = topology.stages.map((stage) =>
    createBus({ ...busOptions, capacity: stage.capacity ?? options.capacity, topics: topicsOf(stage), maxReaders: stage.concurrency + 8 }),
  );
  const outputs = topology.topics.filter((t) => t.output).map((t) => t.name);
  buses.push(createBus({ ...busOptions, capacity: options.outputCapacity, topics: outputs.length > 0 ? outputs : [topology.deadLetterTopic] }));
  const outputRing = buses.length - 1;

  const routes: Record<string, number[]> = {};
  for (const topic of topology.topics) {
    const rings = topic.consumers.map((name) => topology.stages.find((s) => s.name === name)!.index);
    if (topic.output && (topic.name !== topology.deadLetterTopic || rings.length === 0)) rings.push(outputRing);
    routes[topic.name] = rings;
  }

  // Readers exist before anything is published, so no stage misses an event.
  for (const stage of topology.stages) {
    const bus = buses[stage.index];
    // with the topics its workers read: a group's members must all read the same, and a member opened first with others was refused
    const topics = readerTopics(topicsOf(stage), stage);
    if (stage.concurrency > 1) bus.reader(memberName(stage, 0), { group: stage.name, topics }).close();
    else bus.reader(stage.name, { topics }).close();
  }

  const firstSeat: number[] = [];
  let seats = 0;
  for (const stage of topology.stages) {
    firstSeat.push(seats);
    seats += stage.concurrency;
  }
  const control = createControl(seats);
  const plan: Plan = {
    stages: topology.stages,
    rings: buses.map((b) => b.handle),
    routes,
    componentOf: topology.componentOf,
    deadLetterTopic: topology.deadLetterTopic,
    firstSeat,
    controlWords: control.words,
    stats: control.stats,
    seats,
    wait: options.wait,
    codec: options.codec,
  };
  return { plan, buses, control };
}

/**
 * The topics a stage's reader reads, given its ring's: undefined (all) unless the ring also
 * holds an inbound bridge's progress markers, which are not the stage's.
 */
export function readerTopics(ringTopics: readonly string[], stage: Stage): readonly string[] | undefined {
  return ringTopics.length > stage.consumes.length ? stage.consumes : undefined;
}

/** Name of member `member` of a stage's consumer group (the stage's own name when it has one worker). */
export function memberName(stage: Stage, member: number): string {
  return stage.concurrency > 1 ? `${stage.name}#${member}` : stage.name;
}

/** The stage and member a seat belongs to. */
export function stageOfSeat(plan: Plan, seat: number): { stage: Stage; member: number } {
  let index = plan.firstSeat.length - 1;
  while (plan.firstSeat[index] > seat) index--;
  return { stage: plan.stages[index], member: seat - plan.firstSeat[index] };
}
