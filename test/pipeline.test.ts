import { afterEach, describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from 'ringbus';
import { collect, stageUrl } from './pipeline-helpers.js';
import type { Step } from './workers/stages/step.js';

let running: Pipeline[] = [];
afterEach(async () => {
  await Promise.all(running.map((p) => p.close()));
  running = [];
});
function track(p: Pipeline): Pipeline {
  running.push(p);
  return p;
}

async function publishAll(p: Pipeline, topic: string, values: unknown[], chunk = 1000): Promise<void> {
  for (let i = 0; i < values.length; i += chunk) await p.publishBatchAsync(topic, values.slice(i, i + chunk), { timeoutMs: 30_000 });
}

describe('pipelines', () => {
  it('a linear 3-stage pipeline: 200,000 events each come out once, transformed by each stage in order', async () => {
    const step = stageUrl('step');
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stages: [
          { name: 'a', module: step, consumes: ['in'], produces: ['t1'], options: { op: 'mul', k: 3, to: ['t1'] } },
          { name: 'b', module: step, consumes: ['t1'], produces: ['t2'], options: { op: 'add', k: 7, to: ['t2'] } },
          { name: 'c', module: step, consumes: ['t2'], produces: ['out'], options: { op: 'mul', k: 5, to: ['out'] } },
        ],
      }),
    );
    const out = p.output.reader<Step>('check');
    await p.start();
    const n = 200_000;
    const inputs = Array.from({ length: n }, (_, id) => ({ id, x: id, trail: '' }));
    const [events] = await Promise.all([collect(out, n, 60_000), publishAll(p, 'in', inputs)]);
    const seen = new Uint8Array(n);
    for (const { topic, value } of events) {
      expect(topic).toBe('out');
      expect(seen[value.id]).toBe(0);
      seen[value.id] = 1;
      if (value.x !== (value.id * 3 + 7) * 5 || value.trail !== 'a.b.c.') expect(value).toEqual({ id: value.id, x: (value.id * 3 + 7) * 5, trail: 'a.b.c.' });
    }
    expect(seen.every((s) => s === 1)).toBe(true);
    await p.drain({ timeoutMs: 10_000 });
    const stats = p.stats();
    expect(stats.stages.map((s) => [s.name, s.eventsIn, s.eventsOut, s.errors])).toEqual([['a', n, n, 0], ['b', n, n, 0], ['c', n, n, 0]]);
  });
});
