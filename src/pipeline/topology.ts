import { DuplicateStageError, InvalidOptionError, UnconsumedInputError, UnproducedOutputError, UnproducedTopicError } from '../errors.js';
import { normalizeStage, type Stage, type StageDeclaration } from './declaration.js';

/** A topic and who publishes and reads it. */
export interface TopicNode {
  readonly name: string;
  readonly producers: readonly string[];
  readonly consumers: readonly string[];
  /** Published from outside the pipeline. */
  readonly input: boolean;
  /** Read from outside the pipeline (declared, the dead-letter topic, or produced and consumed by no stage). */
  readonly output: boolean;
}

/** `from` emits into `topic`, which `to` consumes. */
export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly topic: string;
  /** Both ends are in one feedback loop: published without waiting, spilled when the ring is full. */
  readonly feedback: boolean;
}

/** The pipeline's graph, derived from what each stage consumes and produces. */
export interface Topology {
  readonly stages: readonly Stage[];
  readonly topics: readonly TopicNode[];
  readonly edges: readonly Edge[];
  /** Strongly connected components, upstream first: the order data flows in. */
  readonly components: readonly (readonly string[])[];
  /** The components that are feedback loops (several stages, or a stage feeding itself). */
  readonly cycles: readonly (readonly string[])[];
  /** Topics produced that no stage consumes and that were not declared outputs: reported, not fatal. */
  readonly unconsumed: readonly string[];
  readonly deadLetterTopic: string;
  /** Component index of each stage, by stage index. */
  readonly componentOf: readonly number[];
}

export interface TopologyDeclaration {
  stages: readonly StageDeclaration[];
  inputs?: readonly string[];
  outputs?: readonly string[];
  deadLetterTopic?: string;
}

function names(what: string, value: unknown): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.some((t) => typeof t !== 'string' || t === ''))
    throw new InvalidOptionError(`${what} must be an array of topic names, got ${JSON.stringify(value)}`);
  return value as string[];
}

/**
 * Derives and validates the topology: every stage's shape, unique names, every consumed
 * topic produced by a stage or declared an input, every output produced by a stage, every
 * input consumed by one; then the edges, the strongly connected
 * components (feedback loops) and their order. Linear in stages + topics + edges.
 */
export function derive(declaration: TopologyDeclaration): Topology {
  if (!Array.isArray(declaration.stages) || declaration.stages.length === 0)
    throw new InvalidOptionError('a pipeline needs stages: a non-empty array of stage declarations');
  const inputs = new Set(names('inputs', declaration.inputs));
  const outputs = new Set(names('outputs', declaration.outputs));
  const deadLetterTopic = declaration.deadLetterTopic ?? 'dead-letter';
  if (typeof deadLetterTopic !== 'string' || deadLetterTopic === '') throw new InvalidOptionError('deadLetterTopic must be a non-empty topic name');

  const stages = declaration.stages.map(normalizeStage);
  const byName = new Map<string, Stage>();
  for (const stage of stages) {
    if (byName.has(stage.name)) throw new DuplicateStageError(stage.name);
    byName.set(stage.name, stage);
  }

  const producers = new Map<string, string[]>();
  const consumers = new Map<string, string[]>();
  const add = (map: Map<string, string[]>, topic: string, stage: string) => {
    const list = map.get(topic);
    if (list === undefined) map.set(topic, [stage]);
    else list.push(stage);
  };
  for (const stage of stages) {
    for (const topic of stage.produces) add(producers, topic, stage.name);
    for (const topic of stage.consumes) add(consumers, topic, stage.name);
  }
  // Every stage may dead-letter; the topic is an output unless a stage consumes it.
  const deadLetterProduced = stages.map((s) => s.name);
  for (const [topic, readers] of consumers) {
    if (!producers.has(topic) && !inputs.has(topic) && topic !== deadLetterTopic) throw new UnproducedTopicError(topic, readers);
  }
  const stageNames = stages.map((s) => s.name);
  for (const topic of outputs) if (!producers.has(topic) && topic !== deadLetterTopic) throw new UnproducedOutputError(topic, stageNames);
  for (const topic of inputs) if (!consumers.has(topic)) throw new UnconsumedInputError(topic, stageNames);

  const topicNames = new Set<string>([...inputs, ...outputs, ...producers.keys(), ...consumers.keys(), deadLetterTopic]);
  const unconsumed: string[] = [];
  const topics: TopicNode[] = [];
  for (const name of topicNames) {
    const readers = consumers.get(name) ?? [];
    const writers = name === deadLetterTopic ? deadLetterProduced : (producers.get(name) ?? []);
    const produced = writers.length > 0 || inputs.has(name);
    if (readers.length === 0 && produced && !outputs.has(name) && name !== deadLetterTopic) unconsumed.push(name);
    topics.push({
      name,
      producers: writers,
      consumers: readers,
      input: inputs.has(name),
      // dead letters of the stages that consume them leave the pipeline
      output: outputs.has(name) || (readers.length === 0 && produced) || name === deadLetterTopic,
    });
  }

  const successors: number[][] = stages.map(() => []);
  const rawEdges: [number, number, string][] = [];
  for (const stage of stages) {
    for (const topic of stage.produces) {
      for (const reader of consumers.get(topic) ?? []) {
        const to = byName.get(reader)!.index;
        successors[stage.index].push(to);
        rawEdges.push([stage.index, to, topic]);
      }
    }
  }
  // Dead letters are edges too: every stage feeds the stages that consume them (but those
  // themselves, whose dead letters leave the pipeline), so a repair loop is seen as a loop.
  const repairers = (consumers.get(deadLetterTopic) ?? []).map((name) => byName.get(name)!.index);
  for (const stage of stages) {
    if (repairers.includes(stage.index)) continue;
    for (const to of repairers) {
      successors[stage.index].push(to);
      rawEdges.push([stage.index, to, deadLetterTopic]);
    }
  }
  const { componentOf, components } = stronglyConnected(successors);
  const edges = rawEdges.map(([from, to, topic]) => ({ from: stages[from].name, to: stages[to].name, topic, feedback: componentOf[from] === componentOf[to] }));
  const selfLoop = new Set(rawEdges.filter(([from, to]) => from === to).map(([from]) => from));
  const cycles = components.filter((c) => c.length > 1 || selfLoop.has(c[0])).map((c) => c.map((i) => stages[i].name));
  return {
    stages,
    topics,
    edges,
    components: components.map((c) => c.map((i) => stages[i].name)),
    cycles,
    unconsumed,
    deadLetterTopic,
    componentOf,
  };
}

/**
 * Tarjan's algorithm, iterative (a 1,000-stage chain must not overflow the stack).
 * Tarjan emits components downstream first; they are returned reversed, upstream first.
 */
function stronglyConnected(successors: readonly number[][]): { componentOf: number[]; components: number[][] } {
  const n = successors.length;
  const order = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const componentOf = new Array<number>(n).fill(-1);
  const stack: number[] = [];
  const found: number[][] = [];
  const frames: [node: number, next: number][] = [];
  let counter = 0;
  for (let root = 0; root < n; root++) {
    if (order[root] >= 0) continue;
    frames.push([root, 0]);
    while (frames.length > 0) {
      const frame = frames[frames.length - 1];
      const v = frame[0];
      if (frame[1] === 0) {
        order[v] = low[v] = counter++;
        stack.push(v);
        onStack[v] = 1;
      }
      const edges = successors[v];
      if (frame[1] < edges.length) {
        const w = edges[frame[1]++];
        if (order[w] < 0) frames.push([w, 0]);
        else if (onStack[w]) low[v] = Math.min(low[v], order[w]);
        continue;
      }
      frames.pop();
      if (frames.length > 0) {
        const parent = frames[frames.length - 1][0];
        low[parent] = Math.min(low[parent], low[v]);
      }
      if (low[v] === order[v]) {
        const component: number[] = [];
        let w: number;
        do {
          w = stack.pop()!;
          onStack[w] = 0;
          component.push(w);
        } while (w !== v);
        found.push(component.reverse());
      }
    }
  }
  const components = found.reverse();
  components.forEach((c, i) => c.forEach((v) => (componentOf[v] = i)));
  return { componentOf, components };
}
