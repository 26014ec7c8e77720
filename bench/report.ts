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
  for (const g of targets)
    t.push([g.name, formatValue(g.value, g.unit), `${g.better === 'higher' ? '≥' : '≤'} ${formatValue(g.target, g.unit)}`, g.met ? 'met' : 'NOT met']);
  return t.toString();
}

/** The width the printed output keeps to (tables, legends, notes). */
export const COLUMNS = 120;

/** `text` in lines of at most `width` characters (words longer than that stay whole); later lines indented by `indent`. */
export function wrap(text: string, width = COLUMNS, indent = ''): string {
  const lead = /^ */.exec(text)![0];
  const lines: string[] = [];
  let line = lead;
  for (const word of text.slice(lead.length).split(' ')) {
    if (line.trim().length > 0 && line.length + 1 + word.length > width) {
      lines.push(line);
      line = indent + word;
    } else {
      line = line.trim().length > 0 ? `${line} ${word}` : line + word;
    }
  }
  lines.push(line);
  return lines.join('\n');
}

/** The "how" of each row, under its table: `name  how`, wrapped. */
export function legend(entries: ReadonlyArray<readonly [string, string]>): string {
  if (entries.length === 0) return '';
  const pad = Math.min(22, Math.max(...entries.map(([name]) => name.length))) + 2;
  const indent = ' '.repeat(pad + 2);
  return entries.map(([name, how]) => wrap(`  ${name.padEnd(pad)}${how}`, COLUMNS, indent)).join('\n');
}

export function scenarioTable(s: ScenarioResult): string {
  if (s.kind === 'micro') {
    const t = new Table({ ...plain, head: ['operation', 'ns/op', 'ops/s', '±%'], colAligns: ['left', 'right', 'right', 'right'] });
    for (const m of s.micro ?? []) t.push([m.name, m.nsPerOp.toFixed(2), formatRate(m.opsPerSec), m.rme.toFixed(1)]);
    return `${t.toString()}\n${legend((s.micro ?? []).map((m) => [m.name, m.detail]))}`;
  }
  const how = legend(s.rows.map((r) => [r.transport, r.how]));
  if (s.kind === 'latency') {
    const t = new Table({
      ...plain,
      head: ['transport', 'p50 µs', 'p90 µs', 'p99 µs', 'p99.9 µs', 'max µs', 'rate/s'],
      colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'right'],
    });
    for (const r of s.rows) t.push([r.transport, us(r.p50us), us(r.p90us), us(r.p99us), us(r.p999us), us(r.maxus), formatRate(r.eventsPerSec)]);
    return `${t.toString()}\n${how}`;
  }
  if (s.kind === 'cpu') {
    const t = new Table({ ...plain, head: ['transport', 'cpu, % of one core'], colAligns: ['left', 'left'] });
    for (const r of s.rows) t.push([r.transport, r.result ?? '']);
    return `${t.toString()}\n${how}`;
  }
  if (s.kind === 'pipeline') {
    // the result column takes what is left of COLUMNS, its text wrapped
    const first = Math.max(9, ...s.rows.map((r) => r.transport.length)) + 2;
    const last = Math.max(8, ...s.rows.map((r) => formatRate(r.eventsPerSec).length)) + 2;
    const middle = Math.min(Math.max(6, ...s.rows.map((r) => (r.result ?? '').length)) + 2, COLUMNS - first - last - 4);
    const t = new Table({
      ...plain,
      head: ['transport', 'result', 'events/s'],
      colAligns: ['left', 'left', 'right'],
      colWidths: [first, middle, last],
      wordWrap: true,
    });
    for (const r of s.rows) t.push([r.transport, r.result ?? '', formatRate(r.eventsPerSec)]);
    return `${t.toString()}\n${how}`;
  }
  const t = new Table({
    ...plain,
    head: ['transport', 'events/s (median)', 'min–max', 'ring ÷ this', 'threads'],
    colAligns: ['left', 'right', 'right', 'right', 'right'],
  });
  for (const r of s.rows)
    t.push([r.transport, formatRate(r.eventsPerSec), `${formatRate(r.min)}–${formatRate(r.max)}`, ratio(r.ringRatio), String(r.busyThreads ?? '')]);
  return `${t.toString()}\n${how}`;
}

export function printScenario(s: ScenarioResult): void {
  console.log(`\n${wrap(`${s.name}: ${s.title}`)}`);
  console.log(scenarioTable(s));
  if (s.targets.length > 0) console.log(targetsTable(s.targets));
  for (const n of s.notes) console.log(wrap(n));
}

/**
 * The last lines of a run whose events all checked out: how many targets were met, and each
 * one that was not, on a line of its own.
 */
export function verdict(targets: readonly Target[]): string {
  const missed = targets.filter((t) => !t.met);
  const head = `verdict: every check passed (no event lost, reordered, duplicated or corrupt); ${targets.length - missed.length} of ${targets.length} targets met`;
  if (missed.length === 0) return `${head}.`;
  const lines = missed.map((t) =>
    wrap(`  NOT met: ${t.name}: ${formatValue(t.value, t.unit)} (goal ${t.better === 'higher' ? '≥' : '≤'} ${formatValue(t.target, t.unit)})`, COLUMNS, '    '),
  );
  return [`${head}; not met:`, ...lines].join('\n');
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
    ...(r.p50us !== undefined && { p50us: r.p50us, ...(r.p90us !== undefined && { p90us: r.p90us }), p99us: r.p99us, p999us: r.p999us, maxus: r.maxus }),
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
  if (num('cpuPct') !== undefined) return { value: num('cpuPct'), text: `cpu ${num('cpuPct')!.toFixed(2)}%`, kind: 'points' };
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
    else if (a.value)
      change = `${b.value >= a.value ? '+' : ''}${(((b.value - a.value) / a.value) * 100).toFixed(1)}%${b.kind === 'lower' ? ' (lower is better)' : ''}`;
    t.push([s.name, s.transport, a.text, b.text, change]);
  }
  const ran = new Set(now.scenarios.map((s) => s.name));
  const gone = old.scenarios.filter((s) => ran.has(s.name) && !now.scenarios.some((n) => n.name === s.name && n.transport === s.transport));
  for (const s of gone) t.push([s.name, s.transport, formatRate(s.eventsPerSec), '-', 'not run']);
  return `compared with ${old.machine?.date ?? 'an earlier run'} (${old.machine?.cpuModel ?? '?'}, Node ${old.machine?.node ?? '?'}):\n${t.toString()}`;
}

/** Why `x` is not a report --compare can read (the first few problems), or [] when it is. */
export function reportProblems(x: unknown): string[] {
  const problems: string[] = [];
  if (typeof x !== 'object' || x === null || Array.isArray(x)) return ['it is not a JSON object'];
  const r = x as Record<string, unknown>;
  if (!Array.isArray(r.scenarios)) return ['it has no "scenarios" array'];
  if (r.machine !== undefined && (typeof r.machine !== 'object' || r.machine === null)) problems.push('"machine" is not an object');
  const numbers = ['eventsPerSec', 'p50us', 'p99us', 'overheadPct', 'p99Ms', 'ms', 'cpuPct'];
  r.scenarios.forEach((row: unknown, i) => {
    if (typeof row !== 'object' || row === null) {
      problems.push(`scenarios[${i}] is not an object`);
      return;
    }
    const o = row as Record<string, unknown>;
    if (typeof o.name !== 'string' || typeof o.transport !== 'string') problems.push(`scenarios[${i}] has no string "name" and "transport"`);
    if (typeof o.eventsPerSec !== 'number' || !Number.isFinite(o.eventsPerSec))
      problems.push(`scenarios[${i}] (${String(o.name)} ${String(o.transport)}): "eventsPerSec" is not a number`);
    for (const k of numbers.slice(1))
      if (o[k] !== undefined && (typeof o[k] !== 'number' || !Number.isFinite(o[k])))
        problems.push(`scenarios[${i}] (${String(o.name)} ${String(o.transport)}): "${k}" is not a number`);
  });
  return problems.slice(0, 5);
}
