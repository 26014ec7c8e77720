// A plain SVG chart of a run: one panel per throughput scenario, a horizontal bar per
// transport (events/s, log scale, min–max whisker), the ring's bars in orange; a latency panel
// (p50 and p99 in µs); the scenarios measured in % or ms (overhead, topology, heal, idle-cpu)
// as lines of text with their targets. No dependencies: the SVG is written by hand.
import { formatValue, type Report } from './report.js';

export const W = 960;
export const LABEL = 170;
const RIGHT = 90;
const BAR = 16;
const GAP = 5;
export const PLOT = W - LABEL - RIGHT;

export const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function rate(x: number): string {
  if (x >= 1e6) return `${(x / 1e6).toFixed(x >= 1e7 ? 1 : 2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(0)}k`;
  return x.toFixed(0);
}

export function color(transport: string): string {
  if (transport === 'ring') return '#e8590c';
  if (transport.startsWith('ring-')) return '#f59f00';
  if (transport === 'eventEmitter' || transport === 'arrayQueue') return '#adb5bd';
  return '#4263eb';
}

export function logScale(lo: number, hi: number): (x: number) => number {
  const a = Math.log10(lo);
  const b = Math.log10(hi);
  return (x) => LABEL + ((Math.log10(Math.max(x, lo)) - a) / (b - a)) * PLOT;
}

export function axis(y: number, height: number, lo: number, hi: number, x: (v: number) => number, unit: string): string[] {
  const out: string[] = [];
  for (let d = lo; d <= hi * 1.0001; d *= 10) {
    const px = x(d).toFixed(1);
    out.push(`<line x1="${px}" y1="${y}" x2="${px}" y2="${y + height}" stroke="#dee2e6"/>`);
    out.push(`<text x="${px}" y="${y + height + 12}" font-size="10" text-anchor="middle" fill="#868e96">${rate(d)}${unit}</text>`);
  }
  return out;
}

export function renderChart(report: Report): string {
  const byScenario = new Map<string, Report['scenarios']>();
  for (const s of report.scenarios) {
    if (!byScenario.has(s.name)) byScenario.set(s.name, []);
    byScenario.get(s.name)!.push(s);
  }
  const parts: string[] = [];
  let y = 40;
  const figure = (r: Report['scenarios'][number]) => r.overheadPct !== undefined || r.p99Ms !== undefined || r.ms !== undefined || r.cpuPct !== undefined;
  const thr = [...byScenario].filter(([, rows]) => rows.every((r) => r.p99us === undefined && !figure(r)));
  const values = thr.flatMap(([, rows]) => rows.flatMap((r) => [r.eventsPerSec, (r.min as number) ?? r.eventsPerSec, (r.max as number) ?? r.eventsPerSec]));
  const lo = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...values, 1e4))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...values, 1e5)));
  const x = logScale(lo, hi);
  for (const [name, rows] of thr) {
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(name)}</text>`);
    y += 8;
    const height = rows.length * (BAR + GAP);
    parts.push(...axis(y, height, lo, hi, x, ''));
    for (const r of rows) {
      const w = Math.max(1, x(r.eventsPerSec) - LABEL);
      parts.push(`<text x="${LABEL - 6}" y="${y + BAR - 4}" font-size="11" text-anchor="end">${esc(r.transport)}</text>`);
      parts.push(`<rect x="${LABEL}" y="${y}" width="${w.toFixed(1)}" height="${BAR}" fill="${color(r.transport)}"/>`);
      if (typeof r.min === 'number' && typeof r.max === 'number') {
        const cy = y + BAR / 2;
        parts.push(`<line x1="${x(r.min).toFixed(1)}" y1="${cy}" x2="${x(r.max).toFixed(1)}" y2="${cy}" stroke="#212529" stroke-width="1.2"/>`);
      }
      const ratio =
        typeof r.ringRatio === 'number' && r.transport !== 'ring' ? `  (ring ${r.ringRatio >= 10 ? r.ringRatio.toFixed(0) : r.ringRatio.toFixed(1)}×)` : '';
      parts.push(`<text x="${(LABEL + w + 4).toFixed(1)}" y="${y + BAR - 4}" font-size="10" fill="#212529">${rate(r.eventsPerSec)}/s${ratio}</text>`);
      y += BAR + GAP;
    }
    y += 30;
  }
  const lat = [...byScenario].filter(([, rows]) => rows.some((r) => r.p99us !== undefined));
  for (const [name, rows] of lat) {
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(name)}: p50 (bar) and p99 (whisker end), µs, lower is better</text>`);
    y += 8;
    const all = rows.flatMap((r) => [r.p50us ?? 1, r.p99us ?? 1]);
    const llo = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...all))));
    const lhi = 10 ** Math.ceil(Math.log10(Math.max(...all, 10)));
    const lx = logScale(llo, lhi);
    const height = rows.length * (BAR + GAP);
    parts.push(...axis(y, height, llo, lhi, lx, ' µs'));
    for (const r of rows) {
      const w = Math.max(1, lx(r.p50us ?? llo) - LABEL);
      parts.push(`<text x="${LABEL - 6}" y="${y + BAR - 4}" font-size="11" text-anchor="end">${esc(r.transport)}</text>`);
      parts.push(`<rect x="${LABEL}" y="${y}" width="${w.toFixed(1)}" height="${BAR}" fill="${color(r.transport.replace(/-pingpong|-spin/, ''))}"/>`);
      const p99 = lx(r.p99us ?? llo);
      parts.push(`<line x1="${LABEL + w}" y1="${y + BAR / 2}" x2="${p99.toFixed(1)}" y2="${y + BAR / 2}" stroke="#212529" stroke-width="1.2"/>`);
      parts.push(
        `<text x="${(Math.max(p99, LABEL + w) + 4).toFixed(1)}" y="${y + BAR - 4}" font-size="10">p50 ${r.p50us?.toFixed(1)} / p99 ${r.p99us?.toFixed(1)} µs</text>`,
      );
      y += BAR + GAP;
    }
    y += 30;
  }
  const figures = [...byScenario].filter(([, rows]) => rows.some(figure)).map(([name]) => name);
  const lines = report.targets.filter((t) => figures.some((name) => t.name.startsWith(`${name}:`) || t.name.startsWith(`${name} (`)));
  if (lines.length > 0) {
    parts.push(`<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(`${figures.join(', ')}: lower is better`)}</text>`);
    y += 18;
    for (const t of lines) {
      const verdict = t.met ? 'met' : 'NOT met';
      parts.push(`<text x="20" y="${y}" font-size="11">${esc(t.name)}</text>`);
      parts.push(`<text x="${LABEL + PLOT - 60}" y="${y}" font-size="11" text-anchor="end">${esc(formatValue(t.value, t.unit))}</text>`);
      parts.push(`<text x="${LABEL + PLOT - 50}" y="${y}" font-size="11" fill="${t.met ? '#2b8a3e' : '#c92a2a'}">${verdict}</text>`);
      y += 16;
    }
    y += 20;
  }
  const m = report.machine;
  const title = `ringbus bench: events/s, log scale, median of runs with min–max (${m.cores} cores, ${m.cpuModel}, Node ${m.node}, ${m.date.slice(0, 10)})`;
  return svgDocument(title, y, parts);
}

/** A chart's SVG file: white ground, its title, its parts, `height` pixels tall. */
export function svgDocument(title: string, height: number, parts: readonly string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${height}" viewBox="0 0 ${W} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
    ...parts,
    `</svg>`,
    '',
  ].join('\n');
}
