// The benchmark's own pieces that decide pass or fail: the text form of the 64-byte event
// (thread-stream), the plain-JS floor ring, the --compare file check and the verdict.
import { describe, expect, it } from 'vitest';
import { Checker } from '../bench/check.js';
import type { Target } from '../bench/flow.js';
import { expectedChecksum, readTextEvent, writeTextEvent } from '../bench/payload.js';
import { PlainSabConsumer, PlainSabProducer, plainSabStorage } from '../bench/plain-sab.js';
import { COLUMNS, reportProblems, verdict } from '../bench/report.js';
import { latencyChartPath, renderLatencyChart } from '../bench/latency-chart.js';

describe('bench: the 64-byte event as a line of text', () => {
  const seqs = [0, 1, 15, 16, 0xffffffff, 0x100000000, 2 ** 53 - 1];

  it('reads back the sequence number it was written with', () => {
    const b = new Uint8Array(64);
    for (const seq of seqs) {
      writeTextEvent(b, seq);
      expect(readTextEvent(Buffer.from(b).toString('latin1'), 0)).toBe(seq);
    }
  });

  it('never reads as its own sequence number once any one byte changed', () => {
    const b = new Uint8Array(64);
    for (const seq of seqs) {
      writeTextEvent(b, seq);
      for (let at = 0; at < 64; at++) {
        for (const other of ['0', 'f', 'x', '\n', ' ']) {
          if (b[at] === other.charCodeAt(0)) continue;
          const s = Buffer.from(b).toString('latin1');
          const spoiled = s.slice(0, at) + other + s.slice(at + 1);
          expect(readTextEvent(spoiled, 0), `byte ${at} of event ${seq} changed to ${JSON.stringify(other)}`).not.toBe(seq);
        }
      }
    }
  });

  it('checks into the same checksum as the binary event', () => {
    const checker = new Checker('raw64', 1, true);
    const b = new Uint8Array(64);
    let s = '';
    for (let seq = 0; seq < 100; seq++) {
      writeTextEvent(b, seq);
      s += Buffer.from(b).toString('latin1');
    }
    for (let at = 0; at < s.length; at += 64) checker.text(s, at);
    expect(checker.count).toBe(100);
    expect(checker.checksum).toBe(expectedChecksum('raw64', 100));
    const skipped = s.slice(0, 64 * 10) + s.slice(64 * 11, 64 * 12);
    checker.reset();
    expect(() => {
      for (let at = 0; at < skipped.length; at += 64) checker.text(skipped, at);
    }).toThrow(/expected sequence 10, got 11/);
  });
});

describe('bench: the plain-JS floor ring', () => {
  it('delivers every record once and in order across many wrap-arounds, and fails a producer left full', () => {
    const sab = plainSabStorage(4 * 64); // 4 slots
    const producer = new PlainSabProducer(sab);
    const consumer = new PlainSabConsumer(sab);
    const seen: number[] = [];
    let next = 0;
    for (let round = 0; round < 50; round++) {
      const k = 1 + (round % 4);
      const first = producer.reserve(k, 100);
      for (let j = 0; j < k; j++) producer.words[producer.wordOf(first + j)] = next++;
      producer.publish(k);
      expect(consumer.wait(0)).toBe(true);
      while (consumer.poll(3, (w, at) => seen.push(w[at])) > 0);
    }
    expect(seen).toEqual(Array.from({ length: next }, (_, i) => i));
    expect(consumer.wait(5)).toBe(false);
    producer.reserve(4, 100); // all 4 slots, which nobody consumes
    producer.publish(4);
    expect(() => producer.reserve(1, 20)).toThrow(/stayed full for 20 ms/);
  });
});

describe('bench: --compare and the verdict', () => {
  it('accepts a report and names what is wrong with anything else', () => {
    expect(reportProblems({ machine: { date: 'x' }, scenarios: [{ name: 'a', transport: 'ring', eventsPerSec: 1, p99us: 3 }], targets: [] })).toEqual([]);
    expect(reportProblems([])).toEqual(['it is not a JSON object']);
    expect(reportProblems({ scenario: [] })).toEqual(['it has no "scenarios" array']);
    expect(reportProblems({ scenarios: [{ name: 'a', transport: 'ring', eventsPerSec: '1M' }] })).toEqual([
      'scenarios[0] (a ring): "eventsPerSec" is not a number',
    ]);
    expect(reportProblems({ scenarios: [{ name: 'a', eventsPerSec: 1, cpuPct: null }] })).toEqual([
      'scenarios[0] has no string "name" and "transport"',
      'scenarios[0] (a undefined): "cpuPct" is not a number',
    ]);
  });

  it('lists every target not met, one line each, within the terminal width', () => {
    const t = (name: string, value: number, met: boolean): Target => ({ name, value, target: 1, met, unit: '×', better: 'higher' });
    const long = `x: ${'a very long target name '.repeat(8)}`;
    const out = verdict([t('a: met', 2, true), t('b: missed', 0.5, false), t(long, 0.2, false)]);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/1 of 3 targets met; not met:$/);
    expect(lines.filter((l) => l.startsWith('  NOT met: '))).toHaveLength(2);
    expect(out).toContain('  NOT met: b: missed: 0.50× (goal ≥ 1.0×)');
    expect(out).not.toContain('a: met');
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(COLUMNS);
    expect(verdict([t('a: met', 2, true)])).toMatch(/1 of 1 targets met\.$/);
  });
});

describe('bench: the latency percentiles chart', () => {
  const machine = { cores: 2, cpuModel: 'cpu', node: 'v20', date: '2026-12-02T00:00:00Z', otherProcessesCores: 0 } as never;
  const row = (transport: string, measure: string, p: [number, number, number, number]) => ({
    name: 'latency-raw64',
    transport,
    eventsPerSec: 20_000,
    runs: [20_000],
    p50us: p[0],
    p90us: p[1],
    p99us: p[2],
    p999us: p[3],
    maxus: p[3] * 2,
    measure,
  });
  const report = (scenarios: unknown[]) => ({ machine, settings: {}, scenarios, targets: [], micro: [], durationSec: 1 }) as never;

  it('draws p50, p90, p99 and p99.9 of each transport as bars growing with the percentile, one-way rows apart from round trips', () => {
    const svg = renderLatencyChart(
      report([
        { name: 'unicast-raw64', transport: 'ring', eventsPerSec: 1e7, runs: [1e7] },
        row('ring', 'one way', [3.1, 5.2, 40, 900]),
        row('postMessage', 'one way', [60, 80, 200, 2_000]),
        row('ring-pingpong', 'round trip', [8, 9, 30, 120]),
      ]),
    )!;
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true);
    const bars = [...svg.matchAll(/<rect x="170" y="[\d.]+" width="([\d.]+)"[^>]*><title>([^<]+)<\/title>/g)].map((m) => [m[2], Number(m[1])] as const);
    expect(bars.map(([title]) => title)).toEqual([
      'ring p50 3.1 µs',
      'ring p90 5.2 µs',
      'ring p99 40 µs',
      'ring p99.9 900 µs',
      'postMessage p50 60 µs',
      'postMessage p90 80 µs',
      'postMessage p99 200 µs',
      'postMessage p99.9 2000 µs',
      'ring-pingpong p50 8 µs',
      'ring-pingpong p90 9 µs',
      'ring-pingpong p99 30 µs',
      'ring-pingpong p99.9 120 µs',
    ]);
    for (let t = 0; t < 3; t++) {
      const widths = bars.slice(4 * t, 4 * t + 4).map(([, w]) => w);
      expect(widths).toEqual([...widths].sort((a, b) => a - b));
    }
    expect(bars[0][1]).toBeLessThan(bars[4][1]); // the ring's p50 left of postMessage's
    expect(svg.indexOf('one way')).toBeLessThan(svg.indexOf('round trip'));
    expect(svg).not.toContain('unicast-raw64');
  });

  it('is left out of a run without the latency scenario, and goes beside the chart', () => {
    expect(renderLatencyChart(report([{ name: 'unicast-raw64', transport: 'ring', eventsPerSec: 1e7, runs: [1e7] }]))).toBeUndefined();
    expect(latencyChartPath('out/run.svg')).toBe('out/run-latency.svg');
    expect(latencyChartPath('chart')).toBe('chart-latency.svg');
  });
});
