import { afterEach, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from 'ringbus';
import { stageUrl } from './pipeline-helpers.js';

let running: Pipeline | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('pipeline stats', () => {
  it('rate covers about the last second, however far apart the stats() calls are', async () => {
    const p = (running = createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      stages: [{ name: 'a', module: stageUrl('step'), consumes: ['in'], produces: ['out'], options: { op: 'add', k: 1, to: ['out'] } }],
    }));
    await p.start();
    expect(p.stats().stages[0].rate).toBe(0);
    const n = 5_000;
    const burst = async (): Promise<void> => {
      await p.publishBatchAsync(
        'in',
        Array.from({ length: n }, (_, id) => ({ id, x: id, trail: '' })),
        { timeoutMs: 10_000 },
      );
      await p.drain({ timeoutMs: 10_000 });
    };
    await burst();
    const first = performance.now();
    expect(p.stats().stages[0]).toMatchObject({ eventsIn: n });
    // a burst, then 3 s idle: nothing was handled in the last second
    await sleep(3_000);
    const idle = p.stats().stages[0];
    expect(idle.eventsIn).toBe(n);
    expect(performance.now() - first).toBeGreaterThan(2_000);
    expect(idle.rate).toBe(0); // before the fix: n / 3 s, the window running from the previous call
    // 3 s later again, with a burst in the last second: n over a window of 1 to 1.25 s
    await sleep(2_500);
    const began = performance.now();
    await burst();
    const busy = p.stats().stages[0];
    expect(performance.now() - began).toBeLessThan(1_000); // the whole burst inside the last second (it takes ms)
    expect(busy.eventsIn).toBe(2 * n);
    expect(busy.rate).toBeGreaterThan(n / 1.6); // before the fix: n / 3 s
    expect(busy.rate).toBeLessThanOrEqual(n / 0.99);
  });

  it("describe('mermaid' | 'dot', { rates: true }) writes each stage's live rates into its node and each topic's onto its edges", async () => {
    const p = (running = createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      stages: [
        { name: 'a', module: stageUrl('step'), consumes: ['in'], produces: ['mid', 'out'], options: { op: 'add', k: 1, to: ['mid', 'out'] } },
        { name: 'b', module: stageUrl('step'), consumes: ['mid'], produces: ['out'], options: { op: 'add', k: 1, to: ['out'] } },
      ],
    }));
    const plain = p.describe('mermaid');
    expect(plain).not.toContain('/s');
    await p.start();
    const n = 4_000;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => ({ id, x: id, trail: '' })),
      { timeoutMs: 10_000 },
    );
    await p.drain({ timeoutMs: 10_000 });
    // describe() and stats() read the same samples unless the sampler ticked between them: take
    // a pair with the same stats on both sides of the describe()
    let live = '';
    let stats = p.stats().stages;
    for (let tries = 0; tries < 10; tries++) {
      const before = p.stats().stages.map((st) => st.rate);
      live = p.describe('mermaid', { rates: true });
      stats = p.stats().stages;
      if (stats.every((st, i) => st.rate === before[i])) break;
    }
    const node = (text: string, id: string) => {
      const m = new RegExp(`  ${id}\\["([^"]+)"\\]`).exec(text);
      if (m === null) throw new Error(`no node ${id} in ${text}`);
      return m[1];
    };
    const figures = (label: string, name: string) => {
      const m = new RegExp(`^${name}<br/>in ([\\d,]+)/s · out ([\\d,]+)/s$`).exec(label);
      if (m === null) throw new Error(`label ${label}`);
      return [Number(m[1].replace(/,/g, '')), Number(m[2].replace(/,/g, ''))];
    };
    const [aIn, aOut] = figures(node(live, 's0'), 'a');
    const [bIn, bOut] = figures(node(live, 's1'), 'b');
    // a emits two events per event, b one: the same window for in and out
    expect(aOut).toBeGreaterThanOrEqual(2 * aIn - 2);
    expect(aOut).toBeLessThanOrEqual(2 * aIn + 2);
    expect(Math.abs(bOut - bIn)).toBeLessThanOrEqual(1);
    expect(aIn).toBeGreaterThan(n / 1.6);
    expect(Math.abs(aIn - stats[0].rate)).toBeLessThanOrEqual(Math.max(2, stats[0].rate * 0.1));
    expect(Math.abs(bIn - stats[1].rate)).toBeLessThanOrEqual(Math.max(2, stats[1].rate * 0.1));
    // each edge: its topic's events per second into the ring it leads to, over the same window
    const edge = (text: string, from: string, topic: string, to: string) => {
      const m = new RegExp(`  ${from} -- "${topic}<br/>([\\d,]+)/s" --> ${to}`).exec(text);
      if (m === null) throw new Error(`no edge ${from} -${topic}-> ${to} in ${text}`);
      return Number(m[1].replace(/,/g, ''));
    };
    expect(edge(live, 'in', 'in', 's0')).toBe(aIn); // n events in, n handled by a, in the same window
    expect(edge(live, 's0', 'mid', 's1')).toBe(bIn);
    // 'out' comes from a and b into the output ring: both edges carry the topic's whole rate there
    expect(edge(live, 's0', 'out', 'out')).toBe(aOut - edge(live, 's0', 'mid', 's1') + bOut);
    expect(edge(live, 's1', 'out', 'out')).toBe(edge(live, 's0', 'out', 'out'));
    // the same graph otherwise: only the labels' figures differ
    const strip = (text: string) =>
      text
        .split('\n')
        .filter((l) => !/^ {2}s\d\[/.test(l))
        .map((l) => l.replace(/<br\/>[\d,]+\/s/, ''));
    expect(strip(live)).toEqual(strip(plain));
    expect(p.describe('dot', { rates: true })).toMatch(/ s0 \[label="a\\nin [\d,]+\/s · out [\d,]+\/s"\];/);
    expect(p.describe('dot', { rates: true })).toMatch(/ s0 -> s1 \[label="mid\\n[\d,]+\/s"\];/);
    await sleep(1_400);
    const idle = p.describe('mermaid', { rates: true });
    expect(node(idle, 's1')).toBe('b<br/>in 0/s · out 0/s');
    expect(edge(idle, 's0', 'mid', 's1')).toBe(0);
    expect(() => p.describe('mermaid', { rate: true } as never)).toThrow(/unknown option "rate"/);
  });
});
