import type { View } from './model.js';

export interface Frame {
  url: string;
  /** Wall-clock time of the scrape. */
  time: Date;
  /** Why the last scrape failed, if it did. */
  error?: string;
  color: boolean;
  /** A frame of the refreshing view, which q quits (it says so); false for --once's single frame. */
  live: boolean;
}

const BAR = 20;

const count = (n: number) => Math.round(n).toLocaleString('en-US');
const perSecond = (n: number | undefined) => (n === undefined ? '–' : `${count(n)}/s`);
function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}
const pad = (s: string, width: number) => (s.length >= width ? s.slice(0, width) : s + ' '.repeat(width - s.length));
const padLeft = (s: string, width: number) => (s.length >= width ? s : ' '.repeat(width - s.length) + s);

/** A bar of `share` (0..1) of the ring, in whole and eighth blocks. */
export function bar(share: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, share)) * BAR * 8);
  const full = Math.floor(eighths / 8);
  const part = eighths % 8;
  const partial = part === 0 ? '' : ' ▏▎▍▌▋▊▉'[part];
  return '█'.repeat(full) + partial + '·'.repeat(BAR - full - (part === 0 ? 0 : 1));
}

/** The live view as text: one line per row, no wider than what it holds. */
export function render(view: View, frame: Frame): string {
  const bold = (s: string) => (frame.color ? `\x1b[1m${s}\x1b[22m` : s);
  const red = (s: string) => (frame.color ? `\x1b[31m${s}\x1b[39m` : s);
  const dim = (s: string) => (frame.color ? `\x1b[2m${s}\x1b[22m` : s);
  const lines: string[] = [];
  // the kind column as wide as the longest kind shown (keyed-member), at least as before
  const kindWidth = Math.max(7, ...view.buses.flatMap((b) => b.readers.map((r) => r.kind.length)));
  lines.push(`${bold('ringbus top')}  ${frame.url}  ${frame.time.toISOString().slice(11, 19)} UTC${frame.live ? `  ${dim('q quits')}` : ''}`);
  if (frame.error !== undefined) lines.push(red(`cannot scrape: ${frame.error}`));
  if (view.buses.length === 0 && view.pipelines.length === 0 && frame.error === undefined) lines.push('no ringbus buses or pipelines in these metrics');
  for (const bus of view.buses) {
    lines.push('');
    const wait = bus.producerWait === undefined ? '–' : `${Math.round(bus.producerWait * 100)}%`;
    lines.push(
      `${bold(`bus ${bus.name}`)}${bus.closed ? ' (closed)' : ''}  published ${perSecond(bus.publishRate)}  backlog ${bytes(bus.backlog)} of ${bytes(bus.capacity)}  producers waiting ${wait}`,
    );
    if (bus.readers.length === 0) continue;
    lines.push(
      dim(`  ${pad('reader', 18)} ${pad('kind', kindWidth)} ${pad('lag (share of the ring)', BAR + 6)} ${padLeft('events', 10)} ${padLeft('rate', 12)}`),
    );
    for (const r of bus.readers) {
      const share = bus.capacity > 0 ? r.lagBytes / bus.capacity : 0;
      const row = `${r.slowest ? '▶' : ' '} ${pad(r.name, 18)} ${pad(r.kind, kindWidth)} ${bar(share)} ${padLeft(`${Math.round(share * 100)}%`, 4)}  ${padLeft(count(r.lagEvents), 10)} ${padLeft(perSecond(r.rate), 12)}${r.slowest ? '  ◀ slowest' : ''}`;
      lines.push(r.slowest ? red(row) : row);
    }
  }
  for (const p of view.pipelines) {
    lines.push('');
    lines.push(`${bold(`pipeline ${p.name}`)}  spilled ${count(p.spilled)}  standbys ready ${count(p.standbys)}`);
    lines.push(
      dim(
        `  ${pad('stage', 18)} ${padLeft('workers', 7)} ${padLeft('in', 12)} ${padLeft('out', 12)} ${padLeft('lag', 9)} ${padLeft('errors', 8)} ${padLeft('dead', 8)} ${padLeft('heals', 6)}`,
      ),
    );
    for (const s of p.stages) {
      const row = `  ${pad(s.name, 18)} ${padLeft(count(s.workers), 7)} ${padLeft(perSecond(s.inRate), 12)} ${padLeft(perSecond(s.outRate), 12)} ${padLeft(count(s.lag), 9)} ${padLeft(count(s.errors), 8)} ${padLeft(count(s.deadLetters), 8)} ${padLeft(count(s.restarts), 6)}`;
      lines.push(s.errors > 0 || s.deadLetters > 0 ? red(row) : row);
    }
  }
  if (view.health.length > 0) {
    lines.push('');
    lines.push(bold('health'));
    for (const c of view.health)
      lines.push(red(`  ${pad(c.kind, 18)} ${c.subject}  (${Number.isInteger(c.magnitude) ? count(c.magnitude) : c.magnitude.toFixed(2)})`));
  }
  return lines.join('\n');
}
