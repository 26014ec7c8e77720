// The latency scenario's percentiles as a chart of their own, beside the run's chart: per
// transport (the ring with each wait strategy, postMessage), p50, p90, p99 and p99.9 as four
// bars on one log scale of µs; one-way rows, then round trips. Written by hand like chart.ts.
import { axis, color, esc, LABEL, logScale, svgDocument } from './chart.js';
import type { Report } from './report.js';

const SCENARIO = 'latency-raw64';
const PERCENTILES = [
  ['p50', 'p50us', 1],
  ['p90', 'p90us', 0.75],
  ['p99', 'p99us', 0.5],
  ['p99.9', 'p999us', 0.3],
] as const;
const BAR = 7;
const GROUP_GAP = 10;

type Row = Report['scenarios'][number];

/** The SVG, or undefined when the run has no latency rows (the scenario was left out). */
export function renderLatencyChart(report: Report): string | undefined {
  const rows = report.scenarios.filter((r) => r.name === SCENARIO && r.p50us !== undefined);
  if (rows.length === 0) return undefined;
  const value = (r: Row, key: (typeof PERCENTILES)[number][1]) => (typeof r[key] === 'number' ? (r[key] as number) : undefined);
  const all = rows.flatMap((r) => PERCENTILES.map(([, key]) => value(r, key)).filter((v): v is number => v !== undefined && v > 0));
  const lo = 10 ** Math.floor(Math.log10(Math.max(0.1, Math.min(...all))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all, 10)));
  const x = logScale(lo, hi);
  const parts: string[] = [];
  let y = 40;
  // the legend: one shade per percentile
  PERCENTILES.forEach(([label, , opacity], i) => {
    const lx = LABEL + i * 90;
    parts.push(`<rect x="${lx}" y="${y - 9}" width="12" height="${BAR + 3}" fill="#495057" fill-opacity="${opacity}"/>`);
    parts.push(`<text x="${lx + 16}" y="${y}" font-size="11">${label}</text>`);
  });
  y += 20;
  for (const measure of ['one way', 'round trip']) {
    const panel = rows.filter((r) => (r.measure ?? 'one way') === measure);
    if (panel.length === 0) continue;
    parts.push(
      `<text x="10" y="${y}" font-size="13" font-weight="bold">${esc(measure === 'one way' ? 'one way, from publish to consumer at 20,000 events/s' : 'round trip (ping-pong)')}: µs, lower is better</text>`,
    );
    y += 8;
    const height = panel.length * (PERCENTILES.length * BAR + GROUP_GAP);
    parts.push(...axis(y, height, lo, hi, x, ' µs'));
    for (const r of panel) {
      const fill = color(r.transport.replace(/-pingpong$/, ''));
      parts.push(`<text x="${LABEL - 6}" y="${y + (PERCENTILES.length * BAR) / 2 + 4}" font-size="11" text-anchor="end">${esc(r.transport)}</text>`);
      PERCENTILES.forEach(([label, key, opacity], i) => {
        const v = value(r, key);
        if (v === undefined) return;
        const w = Math.max(1, x(v) - LABEL);
        const top = y + i * BAR;
        parts.push(
          `<rect x="${LABEL}" y="${top}" width="${w.toFixed(1)}" height="${BAR - 1}" fill="${fill}" fill-opacity="${opacity}"><title>${esc(`${r.transport} ${label} ${v} µs`)}</title></rect>`,
        );
        parts.push(
          `<text x="${(LABEL + w + 4).toFixed(1)}" y="${top + BAR - 1}" font-size="8" fill="#212529">${label} ${v < 10 ? v.toFixed(1) : v.toFixed(0)}</text>`,
        );
      });
      y += PERCENTILES.length * BAR + GROUP_GAP;
    }
    y += 30;
  }
  const m = report.machine;
  const title = `ringbus bench: latency percentiles of 64-byte events, ring vs postMessage, log scale (${m.cores} cores, Node ${m.node}, ${m.date.slice(0, 10)})`;
  return svgDocument(title, y, parts);
}

/** Where the latency chart goes: beside the chart, `run.svg` → `run-latency.svg`. */
export function latencyChartPath(chart: string): string {
  return chart.replace(/(\.svg)?$/i, '-latency.svg');
}
