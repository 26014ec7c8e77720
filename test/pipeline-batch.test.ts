import { describe, expect, it } from 'vitest';
import { createPipeline, type Pipeline } from 'ringbus';
import { closedAfterEach, collect, stageUrl } from './pipeline-helpers.js';
import type { Item } from './workers/stages/batch.js';

const track = closedAfterEach();

async function publishAll(p: Pipeline, topic: string, values: unknown[], chunk = 1000): Promise<void> {
  for (let i = 0; i < values.length; i += chunk) await p.publishBatchAsync(topic, values.slice(i, i + chunk), { timeoutMs: 30_000 });
}

describe('batch handlers', () => {
  it('two stages exporting batch(): 50,000 events each come out once, in order, handled in batches of more than one', async () => {
    const batch = stageUrl('batch');
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stages: [
          { name: 'a', module: batch, consumes: ['in'], produces: ['mid'], options: { to: 'mid' } },
          { name: 'b', module: batch, consumes: ['mid'], produces: ['out'], options: { to: 'out' } },
        ],
      }),
    );
    const out = p.output.reader<Item>('check');
    await p.start();
    const n = 50_000;
    const [events] = await Promise.all([
      collect(out, n, 60_000),
      publishAll(
        p,
        'in',
        Array.from({ length: n }, (_, id) => ({ id, x: id })),
      ),
    ]);
    expect(events.map((e) => e.value.id)).toEqual(Array.from({ length: n }, (_, id) => id));
    expect(events.every((e) => e.topic === 'out' && e.value.x === e.value.id * 4)).toBe(true);
    expect(Math.max(...events.map((e) => e.value.size!))).toBeGreaterThan(1);
    await p.drain({ timeoutMs: 10_000 });
    const stats = p.stats();
    expect(stats.stages.map((s) => [s.name, s.eventsIn, s.eventsOut, s.errors, s.deadLetters])).toEqual([
      ['a', n, n, 0, 0],
      ['b', n, n, 0, 0],
    ]);
    for (const s of stats.stages) {
      expect(s.busyMs).toBeGreaterThan(0);
      expect(s.handlerMs).toBeGreaterThan(0);
      expect(s.handlerMs).toBeLessThanOrEqual(s.busyMs);
    }
  });

  it('a batch that throws is handled again one event per call: only the poison event is dead-lettered, after its attempts', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stages: [{ name: 'b', module: stageUrl('batch'), consumes: ['in'], produces: ['out'], options: { to: 'out' }, retry: { attempts: 2 } }],
      }),
    );
    const out = p.output.reader<any>('check');
    await p.start();
    const n = 1000;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => (id === 500 ? { id, x: id, fail: true } : { id, x: id })),
    );
    await p.drain({ timeoutMs: 20_000 });
    const passed: number[] = [];
    const dead: any[] = [];
    out.poll((v, topic) => void (topic === 'out' ? passed.push(v.id) : dead.push(v)), 1 << 20);
    expect(passed).toEqual(Array.from({ length: n }, (_, id) => id).filter((id) => id !== 500));
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ stage: 'b', topic: 'in', value: { id: 500, x: 500, fail: true }, attempts: 2, error: { message: 'poison 500' } });
    // the failed batch (1), then the poison event alone twice (2)
    expect(p.stats().stages[0]).toMatchObject({ eventsIn: n, errors: 3, retries: 1, deadLetters: 1 });
  });

  it('a worker that dies in its batch handler: the replacement takes the batch one event per call, nothing lost, nothing dead-lettered', async () => {
    const flags = new Int32Array(new SharedArrayBuffer(4));
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stages: [{ name: 'b', module: stageUrl('batch'), consumes: ['in'], produces: ['out'], options: { to: 'out', flags }, batchSize: 64 }],
      }),
    );
    const out = p.output.reader<Item>('check');
    await p.start();
    const n = 1000;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => (id === 300 ? { id, x: id, die: 0 } : { id, x: id })),
    );
    await p.drain({ timeoutMs: 20_000 });
    const seen = new Uint16Array(n);
    let singles = 0;
    out.poll((v) => {
      seen[v.id]++;
      if (v.size === 1) singles++;
    }, 1 << 20);
    expect(flags[0]).toBe(1);
    expect(seen.every((s) => s === 1)).toBe(true); // the dying batch had published nothing
    expect(singles).toBeGreaterThan(0);
    // the death is a failed (batch) attempt; no event's retry
    expect(p.stats().stages[0]).toMatchObject({ restarts: 1, deadLetters: 0, errors: 1, retries: 0 });
  });

  it('an event that kills every worker deep in a batch: one death for the batch, then its attempts, then the dead letters (not a death per short read)', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stages: [{ name: 'b', module: stageUrl('batch'), consumes: ['in'], produces: ['out'], options: { to: 'out' }, batchSize: 256, retry: { attempts: 3 } }],
      }),
    );
    const out = p.output.reader<Item>('check');
    await p.start();
    const n = 1000;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => (id === 200 ? { id, x: id, exit: true } : { id, x: id })),
    );
    await p.drain({ timeoutMs: 30_000 });
    const seen = new Uint16Array(n);
    const dead: any[] = [];
    out.poll((v: any, topic) => void (topic === 'out' ? seen[v.id]++ : dead.push(v)), 1 << 20);
    expect(Array.from(seen).flatMap((s, id) => (s === (id === 200 ? 0 : 1) ? [] : [id]))).toEqual([]);
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({ stage: 'b', value: { id: 200 }, attempts: 3, error: { name: 'WorkerDiedError' } });
    // the batch's death, then the event's three attempts alone
    expect(p.stats().stages[0]).toMatchObject({ restarts: 4, errors: 4, deadLetters: 1 });
  });

  it('raw codec: batch handlers get views of the records and can emit them as they are; 20,000 events come out once, in order, intact', async () => {
    const raw = stageUrl('raw-batch');
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        codec: 'raw',
        capacity: 1 << 16,
        stages: [
          { name: 'add', module: raw, consumes: ['in'], produces: ['t1'], options: { to: 't1', add: true } },
          { name: 'pass1', module: raw, consumes: ['t1'], produces: ['t2'], options: { to: 't2', add: false } },
          { name: 'pass2', module: raw, consumes: ['t2'], produces: ['out'], options: { to: 'out', add: false } },
        ],
      }),
    );
    const out = p.output.reader<Uint8Array>('check');
    await p.start();
    const n = 20_000;
    const payload = (id: number) => new Uint8Array(new Float64Array([id]).buffer);
    const got: number[] = [];
    const reading = (async () => {
      const deadline = performance.now() + 60_000;
      while (got.length < n && performance.now() < deadline) {
        out.poll((v) => {
          const bytes = Uint8Array.from(v, (b) => (b - 1) & 255);
          got.push(new Float64Array(bytes.buffer)[0]);
        }, 4096);
        await out.waitAsync(50);
      }
    })();
    await publishAll(
      p,
      'in',
      Array.from({ length: n }, (_, id) => payload(id)),
    );
    await reading;
    expect(got).toEqual(Array.from({ length: n }, (_, id) => id));
    expect(p.stats().stages.map((s) => s.eventsOut)).toEqual([n, n, n]);
  });
});

describe('per-event handlers', () => {
  it('what a failed attempt emitted is taken back from every outbox; the retry emits it once', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out', 'side'],
        stages: [{ name: 'e', module: stageUrl('emit-then-fail'), consumes: ['in'], produces: ['out', 'side'], retry: { attempts: 2 } }],
      }),
    );
    const out = p.output.reader<{ id: number; copy?: string }>('check');
    await p.start();
    const n = 2000;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => (id % 100 === 7 ? { id, flaky: true } : { id })),
    );
    await p.drain({ timeoutMs: 20_000 });
    const got: string[] = [];
    const side: number[] = [];
    out.poll((v, topic) => void (topic === 'out' ? got.push(`${v.id}${v.copy}`) : side.push(v.id)), 1 << 20);
    expect(got).toEqual(Array.from({ length: n }, (_, id) => [`${id}a`, `${id}b`]).flat());
    expect(side).toEqual(Array.from({ length: n / 100 }, (_, k) => k * 100 + 7));
    expect(p.stats().stages[0]).toMatchObject({ eventsIn: n, eventsOut: 2 * n + n / 100, errors: n / 100, retries: n / 100, deadLetters: 0 });
  });

  it('maxUnpublished bounds what a worker holds: past it, emits are published before the next event, within the batch', async () => {
    const flags = new Int32Array(new SharedArrayBuffer(4 * 8));
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stages: [{ name: 'g', module: stageUrl('gated'), consumes: ['in'], produces: ['out'], options: { flags }, maxUnpublished: 1, batchSize: 64 }],
      }),
    );
    const out = p.output.reader<{ id: number; waited: string }>('check');
    await p.start();
    // one batch: event k + 1 waits until event k was seen at the output
    await p.publishBatchAsync(
      'in',
      Array.from({ length: 8 }, (_, id) => (id === 0 ? { id } : { id, after: id - 1 })),
    );
    const got: { id: number; waited: string }[] = [];
    const deadline = performance.now() + 30_000;
    while (got.length < 8 && performance.now() < deadline) {
      out.poll((v) => {
        got.push(v);
        Atomics.store(flags, v.id, 1);
        Atomics.notify(flags, v.id);
      });
      await out.waitAsync(50);
    }
    expect(got.map((v) => v.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // 'ok' (nothing to wait for) or 'not-equal' / 'ok' from Atomics.wait: never 'timed-out'
    expect(got.filter((v) => v.waited === 'timed-out')).toEqual([]);
    expect(p.stats().stages[0]).toMatchObject({ eventsIn: 8, eventsOut: 8 });
  });
});
