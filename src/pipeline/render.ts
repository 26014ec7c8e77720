import type { Topology } from './topology.js';

/** A flow edge as drawn: stage → stage, input → stage or stage → output. */
interface DrawnEdge {
  /** A stage's name, or null for the inputs (a stage may be named "in"). */
  from: string | null;
  /** A stage's name, or null for the output ring (a stage may be named "out"). */
  to: string | null;
  label: string;
  feedback: boolean;
}

const INPUT = 'in';
const OUTPUT = 'out';

function drawnEdges(topology: Topology): DrawnEdge[] {
  const edges: DrawnEdge[] = topology.edges.map((e) => ({ from: e.from, to: e.to, label: e.topic, feedback: e.feedback }));
  // a produced topic nobody consumes is a mistake reported by describe(), not an output to draw
  const unconsumed = new Set(topology.unconsumed);
  for (const topic of topology.topics) {
    if (unconsumed.has(topic.name)) continue;
    if (topic.input) for (const stage of topic.consumers) edges.push({ from: null, to: stage, label: topic.name, feedback: false });
    if (topic.output && topic.name !== topology.deadLetterTopic)
      for (const stage of topic.producers) edges.push({ from: stage, to: null, label: topic.name, feedback: false });
  }
  return edges;
}

/** Node ids: `s<index>` for a stage, `in` and `out` for the two ends (never a stage's). */
function ids(topology: Topology): { stage(name: string): string; from(e: DrawnEdge): string; to(e: DrawnEdge): string } {
  const map = new Map(topology.stages.map((s) => [s.name, `s${s.index}`]));
  const stage = (name: string) => map.get(name)!;
  return { stage, from: (e) => (e.from === null ? INPUT : stage(e.from)), to: (e) => (e.to === null ? OUTPUT : stage(e.to)) };
}

/** Live figures of a running pipeline's stages, by stage name, drawn into their nodes. */
export type StageRates = ReadonlyMap<string, { in: number; out: number }>;

/**
 * Live events per second of a topic into a stage's ring (`stage`: its name) or into the
 * output ring (`stage`: null): what an edge drawn to there on that topic carries.
 */
export type EdgeRates = (stage: string | null, topic: string) => number | undefined;

const perSecond = (n: number) => `${Math.round(n).toLocaleString('en-US')}/s`;

function edgeLabel(e: DrawnEdge, rates: EdgeRates | undefined, newline: string): string {
  const rate = rates?.(e.to, e.label);
  return rate === undefined ? e.label : `${e.label}${newline}${perSecond(rate)}`;
}

function stageLabel(s: Topology['stages'][number], rates: StageRates | undefined, newline: string): string {
  const name = s.concurrency > 1 ? `${s.name} ×${s.concurrency}` : s.name;
  const rate = rates?.get(s.name);
  return rate === undefined ? name : `${name}${newline}in ${perSecond(rate.in)} · out ${perSecond(rate.out)}`;
}

const quote = (text: string) => `"${text.replace(/["\\]/g, (c) => `\\${c}`)}"`;
const mermaidText = (text: string) => `"${text.replace(/"/g, '#quot;')}"`;

/** Mermaid flowchart: stages left to right, feedback edges dotted, concurrency shown as ×n. */
export function toMermaid(topology: Topology, rates?: StageRates, edgeRates?: EdgeRates): string {
  const id = ids(topology);
  const lines = ['flowchart LR', `  ${INPUT}(((in)))`, `  ${OUTPUT}(((out)))`];
  for (const s of topology.stages) lines.push(`  ${id.stage(s.name)}[${mermaidText(stageLabel(s, rates, '<br/>'))}]`);
  for (const e of drawnEdges(topology))
    lines.push(`  ${id.from(e)} ${e.feedback ? '-.' : '--'} ${mermaidText(edgeLabel(e, edgeRates, '<br/>'))} ${e.feedback ? '.->' : '-->'} ${id.to(e)}`);
  return lines.join('\n');
}

/** Graphviz DOT: the same graph, feedback edges dashed. */
export function toDot(topology: Topology, rates?: StageRates, edgeRates?: EdgeRates): string {
  const id = ids(topology);
  const lines = ['digraph pipeline {', '  rankdir=LR;', '  node [shape=box];', `  ${INPUT} [shape=circle];`, `  ${OUTPUT} [shape=circle];`];
  for (const s of topology.stages) lines.push(`  ${id.stage(s.name)} [label=${quote(stageLabel(s, rates, '\n')).replace(/\n/g, '\\n')}];`); // DOT's escape for a line break
  for (const e of drawnEdges(topology))
    lines.push(`  ${id.from(e)} -> ${id.to(e)} [label=${quote(edgeLabel(e, edgeRates, '\n')).replace(/\n/g, '\\n')}${e.feedback ? ', style=dashed' : ''}];`);
  lines.push('}');
  return lines.join('\n');
}
