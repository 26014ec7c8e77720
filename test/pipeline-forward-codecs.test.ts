import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { attach, type Codec, createPipeline, type Pipeline, type StageDeclaration } from 'ringbus';
import { closedAfterEach, collect, stageUrl } from './pipeline-helpers.js';

// Forwarded records keep the codec they were written in, wherever they go: into a feedback
// loop that spills them (published again by the pipeline's thread), or to the dead letters
// when they do not fit the next ring.

const track = closedAfterEach();

/** A codec of the user's (id 20) that the stage workers do not know. */
const mine: Codec<unknown> = {
  id: 20,
  name: 'mine',
  encode: (value) => new TextEncoder().encode(JSON.stringify(value)),
  decode: (bytes) => JSON.parse(new TextDecoder().decode(bytes)),
};

/** A pipeline from 'in' (which takes records from other threads, any codec) to 'out'. */
function bridgedPipeline(stages: StageDeclaration[], capacity?: number): Pipeline {
  return track(createPipeline({ inputs: ['in'], bridgedInputs: ['in'], outputs: ['out'], capacity, stages }));
}

/** A stage that forwards each event from 'in' once round its own 4 KiB ring ('again'), then out. */
function loopPipeline(): Pipeline {
  return bridgedPipeline([{ name: 'loop', module: stageUrl('forward-loop'), consumes: ['in', 'again'], produces: ['again', 'out'], batchSize: 64 }], 4096);
}

describe('forward() keeps each record as it was written', () => {
  it("'structured' records forwarded round a full 4 KiB loop come out intact (undefined, -0, Date, Set), spilled ones too", async () => {
    const p = loopPipeline();
    const out = p.output.reader('check');
    await p.start();
    const n = 2000;
    const make = (id: number) => ({ id, u: undefined, z: -0, when: new Date(id), tags: new Set([id, 'x']) });
    const input = attach(p.inputHandle.rings[0].handle); // the default codec: 'structured'
    const [events] = await Promise.all([
      collect(out, n, 30_000),
      (async () => {
        for (let id = 0; id < n; id++) await input.publishAsync('in', make(id), { timeoutMs: 30_000 });
      })(),
    ]);
    await p.drain({ timeoutMs: 20_000 });
    // a feedback loop keeps no order: each once
    expect(events.map((e) => (e.value as { id: number }).id).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, id) => id));
    const altered = events.filter((e) => !isDeepStrictEqual(e.value, make((e.value as { id: number }).id)) || !Object.is((e.value as { z: number }).z, -0));
    expect(altered).toEqual([]);
    const stats = p.stats();
    expect(stats.spilledTotal).toBeGreaterThan(0); // the loop ring was full: some went round through the pipeline's thread
    expect(stats.stages[0]).toMatchObject({ eventsIn: 2 * n, eventsOut: 2 * n, errors: 0, deadLetters: 0, restarts: 0 });
    expect(out.poll(() => undefined)).toBe(0);
  });

  it("records of a user's codec forwarded round a full loop: every one comes out once, as written", async () => {
    const p = loopPipeline();
    const out = p.output.reader('check', { codecs: [mine] });
    await p.start();
    const n = 500;
    const input = attach(p.inputHandle.rings[0].handle, { codec: mine });
    const [events] = await Promise.all([
      collect(out, n, 30_000),
      (async () => {
        for (let id = 0; id < n; id++) await input.publishAsync('in', { id, text: `event ${id}` }, { timeoutMs: 30_000 });
      })(),
    ]);
    await p.drain({ timeoutMs: 20_000 });
    const values = events.map((e) => e.value as { id: number }).sort((a, b) => a.id - b.id);
    expect(values).toEqual(Array.from({ length: n }, (_, id) => ({ id, text: `event ${id}` })));
    const stats = p.stats();
    expect(stats.spilledTotal).toBeGreaterThan(0);
    expect(stats.stages[0]).toMatchObject({ errors: 0, deadLetters: 0, restarts: 0 });
  });

  it("a user's record too large for the next ring is dead-lettered with its bytes: no worker dies, the others pass once", async () => {
    const p = bridgedPipeline(
      [
        { name: 'a', module: stageUrl('records-pass'), consumes: ['in'], produces: ['mid'], options: { to: 'mid' } },
        { name: 'b', module: stageUrl('records-pass'), consumes: ['mid'], produces: ['out'], options: { to: 'out' }, capacity: 4096 },
      ],
      1 << 16,
    );
    const out = p.output.reader('check', { codecs: [mine] });
    await p.start();
    const input = attach(p.inputHandle.rings[0].handle, { codec: mine });
    const big = { id: 1, pad: 'x'.repeat(3000) };
    input.publishBatch('in', [{ id: 0 }, big, { id: 2 }]);
    await p.drain({ timeoutMs: 20_000 });
    const passed: unknown[] = [];
    const letters: any[] = [];
    out.poll((value, topic) => void (topic === 'out' ? passed.push(value) : letters.push(value)), 100);
    expect(passed).toEqual([{ id: 0 }, { id: 2 }]);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ stage: 'a', topic: 'mid', seq: -1, error: { name: 'RecordTooLargeError' } });
    // the stage cannot decode codec 20: the letter carries the record's bytes, which decode as written
    expect(mine.decode(letters[0].value)).toEqual(big);
    expect(p.stats().stages.map((s) => [s.name, s.restarts, s.deadLetters])).toEqual([
      ['a', 0, 1],
      ['b', 0, 0],
    ]);
  });

  it("a record a stage cannot decode (a user's codec) is dead-lettered with its bytes: no worker dies, the others pass once, in order", async () => {
    const p = bridgedPipeline([{ name: 'a', module: stageUrl('relay'), consumes: ['in'], produces: ['out'], options: { to: 'out' } }]);
    const out = p.output.reader<any>('check');
    await p.start();
    const input = attach(p.inputHandle.rings[0].handle);
    input.publish('in', 1);
    attach(p.inputHandle.rings[0].handle, { codec: mine }).publish('in', { bad: true });
    input.publishBatch('in', [2, 3]);
    await p.drain({ timeoutMs: 20_000 });
    const passed: unknown[] = [];
    const letters: any[] = [];
    out.poll((value, topic) => void (topic === 'out' ? passed.push(value) : letters.push(value)), 100);
    expect(passed).toEqual([1, 2, 3]);
    expect(letters).toHaveLength(1);
    expect(letters[0]).toMatchObject({ stage: 'a', topic: 'in', seq: 1, attempts: 1, error: { name: 'DecodeError' } });
    expect(mine.decode(letters[0].value)).toEqual({ bad: true });
    // a dead letter counts in eventsOut, as every other does
    expect(p.stats().stages[0]).toMatchObject({ eventsIn: 4, eventsOut: 4, errors: 1, deadLetters: 1, restarts: 0 });
  });

  it('keyed records forwarded round a full loop keep their keys, spilled ones too: a keyed group downstream gets each key on one member', async () => {
    const p = loopPipeline();
    const members = ['m1', 'm2'].map((name) => p.output.reader<any>(name, { group: 'k', keyed: true }));
    await p.start();
    const input = attach(p.inputHandle.rings[0].handle, { codec: 'msgpack' });
    const n = 400;
    const owners = new Map<string, Set<number>>();
    const seen: number[] = [];
    const take = () =>
      members.forEach((member, m) =>
        member.poll((value, topic) => {
          if (topic !== 'out') return;
          seen.push(value.i);
          owners.set(value.k, (owners.get(value.k) ?? new Set()).add(m));
        }, n),
      );
    const reading = setInterval(take, 2);
    try {
      for (let i = 0; i < n; i++) await input.publishAsync('in', { i, k: `k${i % 8}` }, { key: `k${i % 8}`, timeoutMs: 20_000 });
      await p.drain({ timeoutMs: 20_000 });
    } finally {
      clearInterval(reading);
    }
    take();
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i));
    expect(p.stats().spilledTotal).toBeGreaterThan(0);
    for (const [key, of] of owners) expect([key, of.size]).toEqual([key, 1]);
  });

  it('records a stage cannot decode, with its worker killed over and over: each gets its dead letter, each good event comes out (at least once)', async () => {
    const p = bridgedPipeline([{ name: 'a', module: stageUrl('relay'), consumes: ['in'], produces: ['out'], options: { to: 'out' }, batchSize: 16 }], 1 << 16);
    const out = p.output.reader<any>('check');
    await p.start();
    const good = new Set<number>();
    const lettered = new Set<number>();
    const take = () =>
      out.poll((value, topic) => {
        if (topic === 'out') good.add(value.id);
        else lettered.add((mine.decode(value.value) as { bad: number }).bad);
      }, 1 << 16);
    const input = attach(p.inputHandle.rings[0].handle);
    const foreign = attach(p.inputHandle.rings[0].handle, { codec: mine });
    const n = 600;
    let kills = 0;
    const killer = setInterval(
      () =>
        void p.kill('a').then(
          () => kills++,
          () => undefined,
        ),
      10,
    );
    const reading = setInterval(take, 2);
    try {
      for (let i = 0; i < n; i++) {
        if (i % 8 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
        await (i % 2 === 1 ? foreign.publishAsync('in', { bad: i }, { timeoutMs: 20_000 }) : input.publishAsync('in', { id: i }, { timeoutMs: 20_000 }));
      }
      clearInterval(killer);
      await p.drain({ timeoutMs: 20_000 });
    } finally {
      clearInterval(killer);
      clearInterval(reading);
    }
    take();
    expect(kills).toBeGreaterThan(0);
    const all = Array.from({ length: n }, (_, i) => i);
    expect(all.filter((i) => i % 2 === 0 && !good.has(i))).toEqual([]);
    expect(all.filter((i) => i % 2 === 1 && !lettered.has(i))).toEqual([]);
  });

  it("a RecordBatch's length cannot be changed by the handler (a getter: assigning it throws in a module)", async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out', 'probe'],
        stages: [{ name: 'a', module: stageUrl('records-pass'), consumes: ['in'], produces: ['out', 'probe'], options: { to: 'out', probe: 'probe' } }],
      }),
    );
    const out = p.output.reader<any>('check');
    await p.start();
    await p.publishBatchAsync('in', [1, 2, 3]);
    await p.drain({ timeoutMs: 20_000 });
    const probes: any[] = [];
    const passed: unknown[] = [];
    out.poll((value, topic) => void (topic === 'probe' ? probes.push(value) : passed.push(value)), 100);
    expect(probes.length).toBeGreaterThan(0);
    for (const probe of probes) expect(probe).toMatchObject({ outcome: 'TypeError', after: probe.before });
    expect(passed).toEqual([1, 2, 3]);
  });

  it('every export named must be there, even where another named one is used: start() fails naming it', async () => {
    for (const named of [{ batchExport: 'nope' }, { export: 'nope' }]) {
      const p = track(
        createPipeline({
          inputs: ['in'],
          outputs: ['out'],
          stages: [
            { name: 's', module: stageUrl('records-pass'), consumes: ['in'], produces: ['out'], options: { to: 'out' }, recordsExport: 'records', ...named },
          ],
        }),
      );
      await expect(p.start()).rejects.toMatchObject({ name: 'StageLoadError', message: expect.stringContaining('"nope"') });
    }
  });
});
