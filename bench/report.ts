// What a run prints and writes: a table per scenario (cli-table3), the targets, the JSON
// report and the comparison with an earlier JSON report.
import Table from 'cli-table3';
import { formatRate, type MachineInfo } from './harness.js';
import type { Target } from './flow.js';
import type { Row, ScenarioResult } from './scenario.js';

// no colours (logs), no lines between rows
const plain = {
  style: { head: [], border: [] },
  chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' },
};

function ratio(x: number | undefined): string {
  if (x === undefined) return '-';
  return x >= 100 ? `${x.toFixed(0)}×` : x >= 1 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`;
}

function us(x: number | undefined): string {
  return x === undefined ? '-' : x >= 100 ? x.toFixed(0) : x.toFixed(1);
}

export function formatValue(value: number, unit: string): string {
  if (unit === '×') return ratio(value);
  if (unit === 'events/s') return formatRate(value);
  if (unit === '%') return `${value.toFixed(2)}%`;
  return `${Number.isInteger(value) ? value : value.toFixed(2)} ${unit}`;
}

export function targetsTable(targets: readonly Target[]): string {
  const t = new Table({ ...plain, head: ['target', 'value', 'goal', ''], colAligns: ['left', 'right', 'right', 'left'] });
  for (const g of targets) t.push([g.name, formatValue(g.value, g.unit), `${g.better === 'higher' ? '≥' : '≤'} ${formatValue(g.target, g.unit)}`, g.met ? 'met' : 'NOT met']);
  return t.toString();
}

export function scenarioTable(s: ScenarioResult): string {
  if (s.kind === 'micro') {
    const t = new Table({ ...plain, head: ['operation', 'ns/op', 'ops/s', '±%', 'how'], colAligns: ['left', 'right', 'right', 'right', 'left'] });
    for (const m of s.micro ?? []) t.push([m.name, m.nsPerOp.toFixed(2), formatRate(m.opsPerSec), m.rme.toFixed(1), m.detail]);
    return t.toString();
  }
  if (s.kind === 'latency') {
    const t = new Table({ ...plain, head: ['transport', 'p50 µs', 'p99 µs', 'p99.9 µs', 'max µs', 'rate/s', 'how'], colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'left'] });
    for (const r of s.rows) t.push([r.transport, us(r.p50us), us(r.p99us), us(r.p999us), us(r.maxus), formatRate(r.eventsPerSec), r.how]);
    return t.toString();
  }
  if (s.kind === 'pipeline') {
    const t = new Table({ ...plain, head: ['transport', 'result', 'events/s', 'how'], colAligns: ['left', 'left', 'right', 'left'] });
    for (const r of s.rows) t.push([r.transport, r.result ?? '', formatRate(r.eventsPerSec), r.how]);
    return t.toString();
  }
  const t = new Table({
    ...plain,
    head: ['transport', 'events/s (median)', 'min–max', 'ring ÷ this', 'threads', 'how'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'left'],
  });
  for (const r of s.rows) t.push([r.transport, formatRate(r.eventsPerSec), `${formatRate(r.min)}–${formatRate(r.max)}`, ratio(r.ringRatio), String(r.busyThreads ?? ''), r.how]);
  return t.toString();
}

export function printScenario(s: ScenarioResult): void {
  console.log(`\n${s.name}: ${s.title}`);
  console.log(scenarioTable(s));
  if (s.targets.length > 0) console.log(targetsTable(s.targets));
  for (const n of s.notes) console.log(n);
}

export interface Report {
  machine: MachineInfo & { otherProcessesCores: number };
  settings: Record<string, unknown>;
  scenarios: Array<{ name: string; transport: string; eventsPerSec: number; runs: number[]; p50us?: number; p99us?: number; [k: string]: unknown }>;
  targets: Target[];
  micro: Array<Record<string, unknown>>;
  durationSec: number;
}

export function jsonRow(name: string, r: Row): Report['scenarios'][number] {
  return {
    name,
    transport: r.transport,
    eventsPerSec: Math.round(r.eventsPerSec),
    ...(r.p50us !== undefined && { p50us: r.p50us, p99us: r.p99us, p999us: r.p999us, maxus: r.maxus }),
    runs: r.runs.map((x) => Math.round(x)),
    min: Math.round(r.min),
    max: Math.round(r.max),
    ...(r.ringRatio !== undefined && { ringRatio: Math.round(r.ringRatio * 1000) / 1000 }),
    how: r.how,
    ...(r.busyThreads !== undefined && { busyThreads: r.busyThreads }),
    ...r.extra,
  };
}

type JsonRow = Report['scenarios'][number];

/**
 * The figure --compare compares, per row: the overhead (in points), a heal p99 or a topology
 * time (ms), a latency p99 (µs), or else events/s.
 */
function headline(row: JsonRow): { value: number | undefined; text: string; kind: 'points' | 'lower' | 'higher' } {
  const num = (k: string) => (typeof row[k] === 'number' ? (row[k] as number) : undefined);
  if (num('overheadPct') !== undefined) return { value: num('overheadPct'), text: `overhead ${num('overheadPct')!.toFixed(2)}%`, kind: 'points' };
  if (num('p99Ms') !== undefined) return { value: num('p99Ms'), text: `p99 ${num('p99Ms')!.toFixed(2)} ms`, kind: 'lower' };
  if (num('ms') !== undefined) return { value: num('ms'), text: `${num('ms')!.toFixed(2)} ms`, kind: 'lower' };
  if (row.p99us !== undefined) return { value: row.p99us, text: `p99 ${us(row.p99us)} µs`, kind: 'lower' };
  return { value: row.eventsPerSec, text: formatRate(row.eventsPerSec), kind: 'higher' };
}

/** Per scenario and transport: the old and new medians and the change. */
export function compareTable(old: Report, now: Report): string {
  const before = new Map(old.scenarios.map((s) => [`${s.name}\u0000${s.transport}`, s]));
  const t = new Table({ ...plain, head: ['scenario', 'transport', 'old', 'new', 'change'], colAligns: ['left', 'left', 'right', 'right', 'right'] });
  for (const s of now.scenarios) {
    const o = before.get(`${s.name}\u0000${s.transport}`);
    const b = headline(s);
    if (!o) {
      t.push([s.name, s.transport, '-', b.text, 'new']);
      continue;
    }
    const a = headline(o);
    let change = '-';
    if (a.kind !== b.kind || a.value === undefined || b.value === undefined) change = '-';
    else if (b.kind === 'points') change = `${b.value >= a.value ? '+' : ''}${(b.value - a.value).toFixed(2)} points`;
    else if (a.value) change = `${b.value >= a.value ? '+' : ''}${(((b.value - a.value) / a.value) * 100).toFixed(1)}%${b.kind === 'lower' ? ' (lower is better)' : ''}`;
    t.push([s.name, s.transport, a.text, b.text, change]);
  }
  const ran = new Set(now.scenarios.map((s) => s.name));
  const gone = old.scenarios.filter((s) => ran.has(s.name) && !now.scenarios.some((n) => n.name === s.name && n.transport === s.transport));
  for (const s of gone) t.push([s.name, s.transport, formatRate(s.eventsPerSec), '-', 'not run']);
  return `compared with ${old.machine?.date ?? 'an earlier run'} (${old.machine?.cpuModel ?? '?'}, Node ${old.machine?.node ?? '?'}):\n${t.toString()}`;
}
