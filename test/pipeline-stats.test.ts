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
      await p.publishBatchAsync('in', Array.from({ length: n }, (_, id) => ({ id, x: id, trail: '' })), { timeoutMs: 10_000 });
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
});
