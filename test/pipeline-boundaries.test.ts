import { afterEach, describe, expect, it } from 'vitest';
import { createPipeline, InvalidOptionError, type Pipeline } from 'ringbus';
import { stageUrl } from './pipeline-helpers.js';

let running: Pipeline[] = [];
afterEach(async () => {
  await Promise.all(running.map((p) => p.close()));
  running = [];
});

function hanging(extra: Record<string, unknown> = {}, pipeline: Record<string, unknown> = {}): Pipeline {
  const p = createPipeline({
    inputs: ['in'],
    outputs: ['out'],
    stopGraceMs: 300,
    ...pipeline,
    stages: [{ name: 'h', module: stageUrl('hang'), consumes: ['in'], produces: ['out'], batchSize: 16, ...extra }],
  });
  running.push(p);
  return p;
}

describe('operational boundaries', () => {
  for (const how of ['busy', 'async'] as const) {
    it(`a handler that never returns (${how === 'busy' ? 'a busy loop' : 'a promise that never settles'}) is a failed attempt after handlerTimeoutMs; after its attempts the event is dead-lettered with HandlerTimeoutError, two such events of one batch each`, async () => {
      const p = hanging({ handlerTimeoutMs: 150, retry: { attempts: 2 } });
      const out = p.output.reader<any>('check');
      await p.start();
      const n = 100;
      await p.publishBatchAsync(
        'in',
        Array.from({ length: n }, (_, id) => (id === 40 || id === 44 ? { id, hang: how } : { id })),
      );
      await p.drain({ timeoutMs: 20_000 });
      const passed: number[] = [];
      const dead: any[] = [];
      out.poll((v, topic) => void (topic === 'out' ? passed.push(v.id) : dead.push(v)), 1 << 20);
      // the hung batch had published nothing: the others come out once each, in order
      expect(passed).toEqual(Array.from({ length: n }, (_, id) => id).filter((id) => id !== 40 && id !== 44));
      expect(dead).toHaveLength(2);
      for (const [i, id] of [40, 44].entries()) {
        expect(dead[i]).toMatchObject({ stage: 'h', topic: 'in', value: { id, hang: how }, attempts: 2, error: { name: 'HandlerTimeoutError' } });
        expect(dead[i].error.message).toContain('handlerTimeoutMs (150 ms)');
      }
      expect(p.stats().stages[0]).toMatchObject({ restarts: 4, errors: 4, retries: 2, deadLetters: 2 });
    });
  }

  it('without handlerTimeoutMs, stop() and close() still end with a handler stuck in a busy loop', async () => {
    const p = hanging();
    await p.start();
    await p.publishAsync('in', { id: 1, hang: 'busy' });
    await new Promise((resolve) => setTimeout(resolve, 300)); // inside the loop by now
    await p.stop();
    await p.close();
    expect(p.stats().stages[0].eventsIn).toBe(0);
  });

  it("a stage that runs out of its own resourceLimits' heap is healed like any death: the event is dead-lettered after its attempts, the others pass", async () => {
    const p = createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      stages: [
        {
          name: 'hog',
          module: stageUrl('hog'),
          consumes: ['in'],
          produces: ['out'],
          batchSize: 16,
          retry: { attempts: 2 },
          resourceLimits: { maxOldGenerationSizeMb: 24 },
        },
      ],
    });
    running.push(p);
    const heals: { standby: boolean }[] = [];
    p.on('heal', (h: { standby: boolean }) => heals.push(h));
    const out = p.output.reader<any>('check');
    await p.start();
    const n = 100;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => (id === 30 ? { id, hog: true } : { id })),
    );
    await p.drain({ timeoutMs: 30_000 });
    const passed: number[] = [];
    const dead: any[] = [];
    out.poll((v, topic) => void (topic === 'out' ? passed.push(v.id) : dead.push(v)), 1 << 20);
    expect(passed).toEqual(Array.from({ length: n }, (_, id) => id).filter((id) => id !== 30));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ stage: 'hog', value: { id: 30, hog: true }, attempts: 2, error: { name: 'WorkerDiedError' } });
    expect(p.stats().stages[0]).toMatchObject({ restarts: 2, errors: 2, deadLetters: 1 });
    // the standby runs with the pipeline's limits, not the stage's: new workers healed it
    expect(heals.map((h) => h.standby)).toEqual([false, false]);
    expect(() =>
      createPipeline({ inputs: ['in'], stages: [{ name: 'a', module: stageUrl('hog'), consumes: ['in'], resourceLimits: { maxOldGenerationSizeMb: -1 } }] }),
    ).toThrow(/stage "a" resourceLimits.maxOldGenerationSizeMb must be a positive number/);
  });

  it('handlerTimeoutMs must be a positive number', () => {
    expect(() => hanging({ handlerTimeoutMs: 0 })).toThrow(InvalidOptionError);
    expect(() => hanging({ handlerTimeoutMs: '5' })).toThrow(/handlerTimeoutMs must be a positive number/);
  });
});
