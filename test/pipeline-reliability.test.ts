import { afterEach, describe, expect, it } from 'vitest';
import { createPipeline, type DeadLetter, type Pipeline } from 'ringbus';
import { collect, stageUrl } from './pipeline-helpers.js';

let running: Pipeline[] = [];
afterEach(async () => {
  await Promise.all(running.map((p) => p.close()));
  running = [];
});
function track(p: Pipeline): Pipeline {
  running.push(p);
  return p;
}

describe('pipeline reliability', () => {
  it("codec 'raw': a loop stage emitting its input views on a full 4 KiB loop ring loses and duplicates nothing (10,000 events)", async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        codec: 'raw',
        capacity: 4096,
        outputCapacity: 1 << 20,
        stages: [{ name: 'loop', module: stageUrl('view-loop'), consumes: ['in', 'again'], produces: ['again', 'out'], batchSize: 64 }],
      }),
    );
    const out = p.output.reader<Uint8Array>('check');
    await p.start();
    const n = 10_000;
    const bytes = (id: number) => new Uint8Array([id & 0xff, (id >> 8) & 0xff, (id >> 16) & 0xff, 0x5a, 0xa5, id % 251, 0x11, 0x22]);
    for (let i = 0; i < n; i += 500) await p.publishBatchAsync('in', Array.from({ length: 500 }, (_, k) => bytes(i + k)), { timeoutMs: 30_000 });
    await p.drain({ timeoutMs: 30_000 });
    const got = new Map<string, number>();
    let count = 0;
    out.poll((value) => {
      count++;
      const key = Array.from(value).join(',');
      got.set(key, (got.get(key) ?? 0) + 1);
    }, 1 << 20);
    expect(count).toBe(n);
    const missing: number[] = [];
    for (let id = 0; id < n; id++) {
      const key = Array.from(bytes(id)).join(',');
      if (got.get(key) !== 1) missing.push(id);
      got.delete(key);
    }
    expect(missing).toEqual([]); // each exactly once
    expect(got.size).toBe(0); // nothing invented
    expect(p.stats().spilledTotal).toBeGreaterThan(0); // the loop ring was full: the spill was used
  });
});
