import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stat } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createPipeline, describePipeline, InvalidOptionError, type Pipeline, PipelineStateError, StageLoadError } from 'ringbus';
import { closedAfterEach, collect, stageUrl } from './pipeline-helpers.js';
import type { Step } from './workers/stages/step.js';

const track = closedAfterEach();

function linear(options: { standby?: number } = {}): Pipeline {
  return track(
    createPipeline({
      inputs: ['in'],
      outputs: ['out'],
      capacity: 1 << 16,
      standby: options.standby ?? 1,
      stages: [
        { name: 'a', module: stageUrl('step'), consumes: ['in'], produces: ['mid'], options: { op: 'add', k: 1, to: ['mid'] } },
        { name: 'b', module: stageUrl('step'), consumes: ['mid'], produces: ['out'], options: { op: 'mul', k: 2, to: ['out'] } },
      ],
    }),
  );
}

/** Threads of this process: each pipeline worker is one. */
const threads = () => readdirSync('/proc/self/task').length;

/** Waits until the thread count is back to `baseline`, then watches it stay there for `ms` (no worker restarted). */
async function expectNoWorkers(baseline: number, ms: number): Promise<void> {
  const settle = performance.now() + 1000; // a thread seen to exit may take a moment to be joined
  while (threads() > baseline && performance.now() < settle) await new Promise((resolve) => setTimeout(resolve, 2));
  expect(threads()).toBeLessThanOrEqual(baseline);
  let most = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    most = Math.max(most, threads());
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  expect(most).toBeLessThanOrEqual(baseline);
}

async function baselineThreads(): Promise<number> {
  await stat('.'); // libuv's thread pool, started now if not yet, is not a worker
  return threads();
}

const inputs = (from: number, n: number): Step[] => Array.from({ length: n }, (_, k) => ({ id: from + k, x: from + k, trail: '' }));

describe.skipIf(process.platform !== 'linux')('pipeline lifecycle: overlapping calls', () => {
  it('close() while start() is in flight: both resolve, then no worker is left and none is restarted', async () => {
    const baseline = await baselineThreads();
    const p = linear();
    const started = p.start();
    const closed = p.close();
    await Promise.all([started, closed]);
    await expectNoWorkers(baseline, 300);
    await expect(p.start()).rejects.toBeInstanceOf(PipelineStateError);
  });

  it('close() while start() is in flight lets the process exit by itself', () => {
    const index = new URL('../dist/index.js', import.meta.url).href;
    const script = `
      import { createPipeline } from ${JSON.stringify(index)};
      const p = createPipeline({ inputs: ['in'], stages: [{ name: 'a', module: ${JSON.stringify(stageUrl('step').href)}, consumes: ['in'], produces: ['out'] }], outputs: ['out'] });
      const started = p.start();
      await p.close();
      await started;
      console.log('closed');`;
    const dir = mkdtempSync(join(tmpdir(), 'ringbus-close-'));
    const file = join(dir, 'close-while-starting.mjs');
    writeFileSync(file, script);
    const child = spawnSync(process.execPath, [file], { timeout: 15_000, encoding: 'utf8' });
    rmSync(dir, { recursive: true });
    expect(child.error).toBeUndefined(); // no ETIMEDOUT: it ended without being killed
    expect(child.stderr).toBe('');
    expect(child.stdout.trim()).toBe('closed');
    expect(child.status).toBe(0);
  });

  it('stop() while start() is in flight: the pipeline ends stopped, handles nothing, and start() resumes it', async () => {
    const baseline = await baselineThreads();
    const p = linear();
    const out = p.output.reader<Step>('check');
    const started = p.start();
    const stopped = p.stop();
    await Promise.all([started, stopped]);
    await p.publishBatchAsync('in', inputs(0, 100));
    await expectNoWorkers(baseline, 300);
    expect(out.poll(() => undefined)).toBe(0);
    expect(p.stats().stages.map((s) => s.eventsIn)).toEqual([0, 0]);
    await expect(p.drain({ timeoutMs: 100 })).rejects.toBeInstanceOf(PipelineStateError); // events wait, and it says why
    await p.start();
    await p.drain({ timeoutMs: 10_000 });
    const events = await collect(out, 100, 1000);
    expect(events.map((e) => e.value.x)).toEqual(Array.from({ length: 100 }, (_, i) => (i + 1) * 2));
  });

  it('start(), stop(), start() called at once take effect in that order: the pipeline runs', async () => {
    const p = linear();
    const out = p.output.reader<Step>('check');
    const calls = [p.start(), p.stop(), p.start()];
    await Promise.all(calls);
    await p.publishBatchAsync('in', inputs(0, 100));
    await p.drain({ timeoutMs: 10_000 });
    expect(await collect(out, 100, 1000)).toHaveLength(100);
  });

  it('a second start() while the first is in flight is refused; the first one runs the pipeline', async () => {
    const p = linear();
    const first = p.start();
    await expect(p.start()).rejects.toThrow(/already running/);
    await first;
    await p.publishAsync('in', { id: 1, x: 1, trail: '' });
    await p.drain({ timeoutMs: 10_000 });
  });

  it('drain() checks its options as the bus does, and ends when its signal aborts, even behind a handler that never returns', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stopGraceMs: 300,
        stages: [{ name: 'h', module: stageUrl('hang'), consumes: ['in'], produces: ['out'] }],
      }),
    );
    await p.start();
    await p.publishAsync('in', { id: 1, hang: 'async' });
    for (const bad of [{ timeout: 300 }, { timeoutMs: '300' }, { timeoutMs: -1 }, { signal: 'stop' }, 5])
      await expect(p.drain(bad as never), JSON.stringify(bad)).rejects.toThrow(InvalidOptionError);
    const started = performance.now();
    await expect(p.drain({ signal: AbortSignal.timeout(100) })).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(performance.now() - started).toBeLessThan(5_000);
    const aborted = new AbortController();
    aborted.abort(new Error('given up'));
    await expect(p.drain({ signal: aborted.signal })).rejects.toThrow('given up');
    await expect(p.drain({ timeoutMs: 50 })).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('a publish waiting for space when close() is called rejects with PipelineStateError, as one called after it', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        capacity: 4096,
        stopGraceMs: 300,
        stages: [{ name: 'h', module: stageUrl('hang'), consumes: ['in'], produces: ['out'], batchSize: 1 }],
      }),
    );
    await p.start();
    await p.publishAsync('in', { id: 0, hang: 'busy' });
    const waiting = p.publishBatchAsync(
      'in',
      Array.from({ length: 2000 }, (_, id) => ({ id: id + 1 })),
    );
    const outcome = waiting.then(
      () => 'published',
      (error: Error) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    await p.close();
    expect(await outcome).toBeInstanceOf(PipelineStateError);
    await expect(p.publishAsync('in', { id: -1 })).rejects.toThrow(PipelineStateError);
  });

  it('kill() before start() and after close() raises PipelineStateError; start() called while close() is in flight too', async () => {
    const p = linear();
    await expect(p.kill('a')).rejects.toBeInstanceOf(PipelineStateError);
    await p.start();
    const closed = p.close();
    const late = p.start();
    await closed;
    await expect(late).rejects.toThrow(/closed/);
    await expect(p.kill('a')).rejects.toBeInstanceOf(PipelineStateError);
    await expect(p.kill('a')).rejects.toThrow(/closed/);
  });

  it('kill() called right after start() waits for the start, then kills the worker (it is healed)', async () => {
    const p = linear();
    void p.start();
    await p.kill('a');
    await p.publishBatchAsync('in', inputs(0, 100));
    await p.drain({ timeoutMs: 10_000 });
    expect(p.stats().stages[0].restarts).toBe(1);
  });
});

describe('pipeline lifecycle: load and option errors', () => {
  it('kill() on a stage that is down (its replacement could not load its module) raises PipelineStateError at once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringbus-down-'));
    const flag = join(dir, 'refuse');
    process.env.RINGBUS_TEST_REFUSE_LOAD = flag; // workers copy the environment when they start
    try {
      const p = track(
        createPipeline({
          inputs: ['in'],
          outputs: ['out'],
          standby: 0,
          stages: [{ name: 's', module: stageUrl('load-refused'), consumes: ['in'], produces: ['out'] }],
        }),
      );
      const errors: Error[] = [];
      p.on('error', (error) => errors.push(error));
      await p.start();
      writeFileSync(flag, '');
      await p.kill('s');
      for (let i = 0; i < 500 && errors.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(errors[0]).toBeInstanceOf(StageLoadError);
      const started = performance.now();
      await expect(p.kill('s')).rejects.toThrow(PipelineStateError);
      expect(performance.now() - started).toBeLessThan(1_000);
    } finally {
      delete process.env.RINGBUS_TEST_REFUSE_LOAD;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a module that calls process.exit() while loading: StageLoadError names its stage, never the standby', async () => {
    for (let round = 0; round < 3; round++) {
      const p = track(
        createPipeline({
          inputs: ['in'],
          standby: 3,
          stages: [{ name: 'exiter', module: stageUrl('exit-on-load'), consumes: ['in'] }],
        }),
      );
      const error = await p.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(StageLoadError);
      expect((error as StageLoadError).stage).toBe('exiter');
      expect((error as Error).message).toMatch(/stage "exiter": a worker exited \(code 4\) while loading the stage's module; look for process\.exit\(\)/);
    }
  });

  it('stage options that cannot be structured-cloned are refused by createPipeline() and describePipeline() with InvalidOptionError', () => {
    const stages = [{ name: 'a', module: stageUrl('step'), consumes: ['in'], options: { op: 'add', k: 1, to: [], format: (x: number) => x } }];
    expect(() => createPipeline({ inputs: ['in'], stages })).toThrow(InvalidOptionError);
    expect(() => createPipeline({ inputs: ['in'], stages })).toThrow(/stage "a": its options cannot be copied to its worker threads .*; pass plain data/);
    expect(() => describePipeline({ inputs: ['in'], stages })).toThrow(InvalidOptionError);
    const shared = { flag: new Int32Array(new SharedArrayBuffer(4)), list: [1, 'two', new Map([[1, 2]])] };
    expect(() => createPipeline({ inputs: ['in'], stages: [{ name: 'a', module: stageUrl('step'), consumes: ['in'], options: shared }] })).not.toThrow();
  });
});
