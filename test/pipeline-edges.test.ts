// A pipeline at the edges of its API (closed while publishing, a thrown value that throws on every look), through the public API.
import { describe, expect, it } from 'vitest';
import { createPipeline, PipelineStateError } from 'ringbus';
import { stageUrl } from './pipeline-helpers.js';

describe('a pipeline being closed', () => {
  it('refuses publishes from the moment close() is called: nothing it accepts is dropped', async () => {
    const p = createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      capacity: 1 << 14,
      standby: 0,
      stages: [{ name: 's', module: stageUrl('step'), consumes: ['in'], produces: ['out'], options: { op: 'add', k: 1, to: ['out'] } }],
    });
    const out = p.output.reader<{ id: number }>('o');
    await p.start();
    const closing = p.close();
    await expect(p.publishAsync('in', { id: 1, x: 1, trail: '' })).rejects.toThrow(PipelineStateError);
    expect(() => p.tryPublish('in', { id: 2, x: 2, trail: '' })).toThrow(PipelineStateError);
    await expect(p.publishBatchAsync('in', [{ id: 3, x: 3, trail: '' }])).rejects.toThrow(PipelineStateError);
    await closing;
    const handled: number[] = [];
    out.poll((v) => handled.push(v.id), 100);
    expect(handled).toEqual([]);
  });
});

describe('a handler that throws a value that throws on every look (a revoked Proxy)', () => {
  it('is retried and dead-lettered like any failure, not a worker killed for ever', async () => {
    const p = createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      capacity: 1 << 14,
      standby: 0,
      stages: [{ name: 's', module: stageUrl('throw-revoked'), consumes: ['in'], produces: ['out'], retry: { attempts: 2 } }],
    });
    const out = p.output.reader<{ value: unknown; error: { message: string } }>('o');
    await p.start();
    try {
      await p.publishAsync('in', 'revoked');
      const letters: { value: unknown; error: { message: string } }[] = [];
      const deadline = performance.now() + 10_000;
      while (letters.length === 0 && performance.now() < deadline) {
        out.poll((v) => letters.push(v), 10);
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(letters.map((l) => l.value)).toEqual(['revoked']);
      expect(letters[0].error.message).toMatch(/cannot be described/);
      expect(p.stats().stages[0].restarts).toBe(0);
    } finally {
      await p.close();
    }
  });
});

describe('a stage of concurrency 2 reading a bridged input (its ring also carries progress markers)', () => {
  it('starts without a worker dying, whichever member opens first (three pipelines), and every event comes out once', async () => {
    for (let round = 0; round < 3; round++) {
      const p = createPipeline({
        inputs: ['in'],
        bridgedInputs: ['in'],
        outputs: ['out'],
        standby: 0,
        stages: [{ name: 's', module: stageUrl('relay'), consumes: ['in'], produces: ['out'], options: { to: 'out' }, concurrency: 2 }],
      });
      try {
        const out = p.output.reader<number>('o');
        await p.start();
        await p.publishBatchAsync(
          'in',
          Array.from({ length: 200 }, (_, i) => i),
        );
        await p.drain({ timeoutMs: 20_000 });
        const seen: number[] = [];
        out.poll((value) => void seen.push(value), 1000);
        expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i));
        // a member opened first with other topics than the group's reserved member was refused: its worker died
        expect(p.stats().stages[0].restarts).toBe(0);
      } finally {
        await p.close();
      }
    }
  });
});
