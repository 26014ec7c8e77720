import { describe, expect, it } from 'vitest';
import { createPipeline, msgpack, StageLoadError, type Pipeline, type PipelineCodec, type Reader, type StageDeclaration } from 'ringbus';
import { closedAfterEach, stageUrl } from './pipeline-helpers.js';
import type { CallSize } from './workers/stages/records-forward.js';
import { MISUSES, type EventReport, type MisuseReport } from './workers/stages/records-inspect.js';

const track = closedAfterEach();

/**
 * Everything `reader` has now, in order (call after drain(); open the reader before start(),
 * or the output ring does not keep the events for it). Raw values are copied: views of the
 * ring are valid only inside poll()'s handler.
 */
function everything<T = any>(reader: Reader<T>): { topic: string; value: T }[] {
  const events: { topic: string; value: T }[] = [];
  reader.poll((value, topic) => void events.push({ topic, value: value instanceof Uint8Array ? (value.slice() as T) : value }), 1 << 20);
  return events;
}

const byTopic = <T>(events: { topic: string; value: T }[], topic: string): T[] => events.filter((e) => e.topic === topic).map((e) => e.value);

/** Raw payload of event `id`: `length` bytes, a pattern of the id (first byte never 255). */
function rawPayload(id: number, length = 16): Uint8Array {
  return Uint8Array.from({ length }, (_, k) => (id * 31 + k * 7) % 251);
}

describe('records handlers: RecordBatch', () => {
  it.each([
    ['msgpack', false],
    ['json', false],
    ['raw', false],
    ['msgpack', true],
    ['raw', true],
  ] as const)(
    'with the %s codec (forwarded into the ring first: %s): length, bytes, offset, byteLength, topic, seq, codec and value describe each event; bad indexes and ranges throw InvalidOptionError',
    async (codec: PipelineCodec, forwarded: boolean) => {
      const raw = codec === 'raw';
      const inspect: StageDeclaration = {
        name: 'inspect',
        module: stageUrl('records-inspect'),
        consumes: forwarded ? ['mid'] : ['a', 'b'],
        produces: ['out'],
        options: { to: 'out', raw },
        retry: { attempts: 1 },
      };
      // forwarded: a stage in front passes the events on, as their records lie, into 'mid'
      const forward: StageDeclaration = { name: 'fwd', module: stageUrl('records-forward'), consumes: ['a', 'b'], produces: ['mid'], options: { to: 'mid' } };
      const p = track(createPipeline({ inputs: ['a', 'b'], outputs: ['out'], codec, stages: forwarded ? [forward, inspect] : [inspect] }));
      const reader = p.output.reader<unknown>('check');
      await p.start();
      const n = 40;
      const values: unknown[] = Array.from({ length: n }, (_, id) =>
        raw ? rawPayload(id, id % 5 === 0 ? 0 : id) : { id, s: 'é'.repeat(id % 4), list: [id, -id - 1, 0.25] },
      );
      const topicOf = (id: number) => (id % 3 === 0 ? 'b' : 'a');
      // one at a time and a few at once: batches of several sizes
      for (let id = 0; id < n; id++) {
        if (id % 7 === 3) await Promise.all([p.publishAsync(topicOf(id), values[id]), p.publishAsync(topicOf(id + 1), values[id + 1])]).then(() => id++);
        else await p.publishAsync(topicOf(id), values[id]);
      }
      await p.drain({ timeoutMs: 20_000 });
      const reports: (EventReport | MisuseReport)[] = [];
      reader.poll((value, topic) => {
        expect(topic).toBe('out');
        reports.push(raw ? JSON.parse(new TextDecoder().decode(value as Uint8Array)) : (value as EventReport | MisuseReport));
      }, 1 << 20);
      const events = reports.filter((r): r is EventReport => r.kind === 'event');
      const misuses = reports.filter((r): r is MisuseReport => r.kind === 'misuse');
      // nothing but reports came out (no misused forward() passed anything on), one per event, in order
      expect(events.length + misuses.length).toBe(reports.length);
      expect(events).toHaveLength(n);
      const expectedPayload = (v: unknown): number[] =>
        Array.from(raw ? (v as Uint8Array) : codec === 'json' ? new TextEncoder().encode(JSON.stringify(v)) : msgpack().encode(v).slice());
      const firstSeq = events[0].seq;
      expect(firstSeq).toBe(0); // a new ring's first event
      for (const [id, e] of events.entries()) {
        expect(e).toMatchObject({
          topic: forwarded ? 'mid' : topicOf(id),
          contextTopic: forwarded ? 'mid' : topicOf(id),
          seq: firstSeq + id,
          contextSeq: firstSeq + id,
          codec: { raw: 0, msgpack: 1, json: 2 }[codec],
          byteLength: expectedPayload(values[id]).length,
          payload: expectedPayload(values[id]),
          value: raw ? Array.from(values[id] as Uint8Array) : values[id],
          sameTwice: true,
        });
        expect(e.offset).toBeGreaterThanOrEqual(0);
        if (raw) expect(e.view).toEqual({ sameBuffer: true, atOffset: true, sameLength: true });
        else expect(e.view).toBeUndefined();
      }
      // each call: its events, indexed 0..length-1, then its misuse report
      let at = 0;
      let calls = 0;
      while (at < reports.length) {
        const misuse = reports.slice(at).findIndex((r) => r.kind === 'misuse');
        expect(misuse).toBeGreaterThan(0);
        const call = reports.slice(at, at + misuse) as EventReport[];
        expect(call.map((r) => [r.index, r.length])).toEqual(call.map((_, i) => [i, misuse]));
        const report = reports[at + misuse] as MisuseReport;
        expect(report.length).toBe(misuse);
        expect(report.results.map((r) => r.call)).toEqual(MISUSES.map(([call]) => call));
        expect(report.empty).toEqual(['', '']); // empty ranges are fine, and pass nothing on
        expect(report.undeclared).toEqual({ name: 'UndeclaredTopicError', undeclaredTopic: true });
        for (const r of report.results) {
          expect(r, r.call).toMatchObject({ name: 'InvalidOptionError', invalidOption: true });
          expect(r.message, r.call).toContain('stage "inspect"');
        }
        const message = (call: string) => report.results.find((r) => r.call === call)!.message;
        expect(message('value(-1)')).toContain(`event -1 of a batch of ${misuse}`);
        expect(message('value(length)')).toContain(`event ${misuse} of a batch of ${misuse}`);
        expect(message("value('0')")).toContain(`event 0 of a batch of ${misuse}`);
        expect(message('forward(to, -1)')).toContain(`got from -1, to ${misuse}`);
        expect(message('forward(to, 0, length + 1)')).toContain(`≤ ${misuse} (the batch's length), got from 0, to ${misuse + 1}`);
        expect(message('forward(to, 0.5)')).toContain(`got from 0.5, to ${misuse}`);
        expect(message('forward(to, 0, NaN)')).toContain('got from 0, to NaN');
        at += misuse + 1;
        calls++;
      }
      expect(calls).toBe(misuses.length);
      expect(p.stats().stages.at(-1)).toMatchObject({ name: 'inspect', eventsIn: n, eventsOut: n + calls, errors: 0, deadLetters: 0 });
    },
  );
});

describe('forward()', () => {
  it('the default codec: a records stage forwards whole batches into a topic two stages read; a per-event stage forwards some, one relays all: objects and scalars come out equal, -0 included, once, in order', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['kept', 'twice', 'relayed'],
        capacity: 1 << 16, // the rings wrap several times
        outputCapacity: 1 << 22, // read once drained
        stages: [
          { name: 'fwd', module: stageUrl('records-forward'), consumes: ['in'], produces: ['mid'], options: { to: 'mid' } },
          {
            name: 'filter',
            module: stageUrl('forward-filter'),
            consumes: ['mid'],
            produces: ['kept', 'twice'],
            options: { to: 'kept', also: 'twice' },
            retry: { attempts: 2 },
          },
          { name: 'relay', module: stageUrl('relay'), consumes: ['mid'], produces: ['relayed'], options: { to: 'relayed' } },
        ],
      }),
    );
    const reader = p.output.reader<any>('check');
    await p.start();
    const scalars = [-0, 0, 1.5, Number.NaN, Number.NEGATIVE_INFINITY, 2 ** 53 - 1, -(2 ** 31) - 1, 2 ** 32, null, true, false, 'text', [1, [2]]];
    const n = 3000;
    const values: unknown[] = Array.from({ length: n }, (_, id) => {
      if (id % 50 === 49) return scalars[((id / 50) | 0) % scalars.length];
      const keep = id % 3 !== 0;
      return {
        id,
        keep,
        ...(keep && id % 97 === 5 ? { flaky: true } : {}),
        ...(keep && id % 10 === 1 ? { twice: true } : {}),
        s: 'ü'.repeat(id % 9),
        nested: { list: [id, -id - 1, id / 4, null, 'x'], deep: { t: id % 2 === 0 } },
        bin: Uint8Array.from({ length: id % 5 }, (_, k) => id + k),
      };
    });
    for (let i = 0; i < n; i += 500) await p.publishBatchAsync('in', values.slice(i, i + 500), { timeoutMs: 30_000 });
    await p.drain({ timeoutMs: 30_000 });
    const out = everything(reader);
    const isObject = (v: unknown): v is { keep: boolean; twice?: boolean; flaky?: boolean } => typeof v === 'object' && v !== null && !Array.isArray(v);
    const kept = values.filter((v) => !isObject(v) || v.keep);
    const twice = values.filter((v) => isObject(v) && v.keep && v.twice);
    const flaky = values.filter((v) => isObject(v) && v.flaky).length;
    expect(flaky).toBeGreaterThan(0);
    expect(twice.length).toBeGreaterThan(0);
    const same = (got: unknown[], expected: unknown[]) => {
      expect(got).toHaveLength(expected.length);
      expect(got).toEqual(expected);
      // toEqual aside: every number, -0 and NaN included, is the same
      expect(got.flatMap((v, i) => (typeof v === 'number' && !Object.is(v, expected[i]) ? [[i, v, expected[i]]] : []))).toEqual([]);
    };
    same(byTopic(out, 'kept'), kept);
    same(byTopic(out, 'twice'), twice);
    same(byTopic(out, 'relayed'), values);
    expect(out.length).toBe(kept.length + twice.length + n);
    expect(p.stats().stages.map((s) => [s.name, s.eventsIn, s.eventsOut, s.errors, s.retries, s.deadLetters])).toEqual([
      ['fwd', n, n, 0, 0, 0],
      ['filter', n, kept.length + twice.length, flaky, flaky, 0],
      ['relay', n, n, 0, 0, 0],
    ]);
  });

  it.each(['msgpack', 'raw'] as const)(
    'with the %s codec, emit() and forward() mixed in one call keep their order, in records and batch handlers, with explicit ranges',
    async (codec: PipelineCodec) => {
      const raw = codec === 'raw';
      const mixed = stageUrl('forward-mixed');
      const p = track(
        createPipeline({
          inputs: ['in'],
          outputs: ['each', 'runs', 'batchEach', 'batchRuns'],
          codec,
          capacity: 1 << 16,
          outputCapacity: 1 << 22, // read once drained
          stages: [
            { name: 'each', module: mixed, consumes: ['in'], produces: ['each'], options: { to: 'each', mode: 'each', raw } },
            { name: 'runs', module: mixed, consumes: ['in'], produces: ['runs'], options: { to: 'runs', mode: 'runs', raw }, batchSize: 37 },
            {
              name: 'batchEach',
              module: mixed,
              batchExport: 'batchMixed',
              consumes: ['in'],
              produces: ['batchEach'],
              options: { to: 'batchEach', mode: 'each', raw },
            },
            {
              name: 'batchRuns',
              module: mixed,
              batchExport: 'batchMixed',
              consumes: ['in'],
              produces: ['batchRuns'],
              options: { to: 'batchRuns', mode: 'runs', raw },
              batchSize: 64,
            },
          ],
        }),
      );
      const reader = p.output.reader<any>('check');
      await p.start();
      const n = 2000;
      const values = Array.from({ length: n }, (_, id) => (raw ? rawPayload(id, 16) : { id, s: 'm'.repeat(id % 6), list: [id, { k: -id - 1 }] }));
      for (let i = 0; i < n; i += 250) await p.publishBatchAsync('in', values.slice(i, i + 250), { timeoutMs: 30_000 });
      await p.drain({ timeoutMs: 30_000 });
      const out = everything(reader);
      // comparable forms: raw bytes as arrays, objects as they are
      const norm = (v: unknown) => (raw ? Array.from(v as Uint8Array) : v);
      const inputs = values.map(norm);
      for (const topic of ['each', 'batchEach']) {
        const expected = inputs.flatMap((v, id) => [raw ? [0xee, ...(v as number[])] : { marker: id }, v]);
        expect(byTopic(out, topic).map(norm), topic).toEqual(expected);
      }
      const isHead = (v: any) => (raw ? v.length === 5 && v[0] === 0xaa : 'head' in v);
      const isMid = (v: any) => (raw ? v.length === 1 && v[0] === 0xbb : 'mid' in v);
      const isTail = (v: any) => (raw ? v.length === 3 && v[0] === 0xcc : 'tail' in v);
      const headOf = (v: any) => (raw ? { n: v[1] | (v[2] << 8), half: v[3] | (v[4] << 8) } : { n: v.head, half: v.half });
      const tailOf = (v: any) => (raw ? v[1] | (v[2] << 8) : v.tail);
      for (const topic of ['runs', 'batchRuns']) {
        const got = byTopic(out, topic).map(norm);
        const rebuilt: unknown[] = [];
        let batches = 0;
        for (let at = 0; at < got.length; ) {
          expect(isHead(got[at]), `${topic} ${at}`).toBe(true);
          const { n: size, half } = headOf(got[at]);
          expect(half).toBe(size >> 1);
          const second = got.slice(at + 1, at + 1 + size - half); // events [half, n)
          expect(isMid(got[at + 1 + size - half]), `${topic} ${at}`).toBe(true);
          const first = got.slice(at + 2 + size - half, at + 2 + size); // events [0, half)
          expect(isTail(got[at + 2 + size]), `${topic} ${at}`).toBe(true);
          expect(tailOf(got[at + 2 + size])).toBe(size);
          rebuilt.push(...first, ...second);
          at += size + 3;
          batches++;
        }
        expect(rebuilt, topic).toEqual(inputs);
        expect(got.length).toBe(n + 3 * batches);
      }
      const stats = p.stats().stages;
      expect(stats.map((s) => [s.name, s.eventsIn, s.errors, s.deadLetters])).toEqual(
        ['each', 'runs', 'batchEach', 'batchRuns'].map((name) => [name, n, 0, 0]),
      );
      expect(stats[0].eventsOut).toBe(2 * n);
    },
  );

  it('a records handler that throws: its batch is handled again one event per call (a batch of one, forward() passing just that event); only the poison event is dead-lettered', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out', 'sizes'],
        deadLetterTopic: 'dead',
        stages: [
          {
            name: 'fwd',
            module: stageUrl('records-forward'),
            consumes: ['in'],
            produces: ['out', 'sizes'],
            options: { to: 'out', sizes: 'sizes', async: true },
            retry: { attempts: 2 },
          },
        ],
      }),
    );
    const reader = p.output.reader<any>('check');
    await p.start();
    const n = 1000;
    const poison = 500;
    const values = Array.from({ length: n }, (_, id) => (id === poison ? { id, fail: true } : { id }));
    await p.publishBatchAsync('in', values);
    await p.drain({ timeoutMs: 20_000 });
    const out = everything(reader);
    expect(byTopic(out, 'out')).toEqual(values.filter((v) => v.id !== poison));
    const calls = byTopic<CallSize>(out, 'sizes');
    const dead = byTopic<any>(out, 'dead');
    expect(out.length).toBe(n - 1 + calls.length + dead.length);
    expect(dead).toHaveLength(1);
    const seqs = calls.flatMap((c) => c.seqs);
    const firstSeq = Math.min(...seqs);
    expect(dead[0]).toMatchObject({
      stage: 'fwd',
      topic: 'in',
      seq: firstSeq + poison,
      value: { id: poison, fail: true },
      attempts: 2,
      error: { name: 'Error', message: `poison ${poison}` },
    });
    // every event but the poison one was in exactly one successful call, in order
    expect(seqs).toEqual(Array.from({ length: n }, (_, id) => firstSeq + id).filter((s) => s !== firstSeq + poison));
    expect(calls.every((c) => c.contextAgrees && c.topics.every((t) => t === 'in'))).toBe(true);
    // the failed batch's other events, one per call: they and the poison event are one run of seqs
    const singles = calls.filter((c) => c.n === 1).map((c) => c.seqs[0]);
    expect(singles.length).toBeGreaterThan(0);
    const run = [...singles, firstSeq + poison].sort((a, b) => a - b);
    expect(run).toEqual(Array.from({ length: run.length }, (_, k) => run[0] + k));
    expect(calls.filter((c) => c.n > 1).every((c) => c.attempt === 1)).toBe(true);
    // the failed batch (1), then the poison event alone twice (2)
    expect(p.stats().stages[0]).toMatchObject({ eventsIn: n, errors: 3, retries: 1, deadLetters: 1 });
  });

  it('a bad range (not whole, negative, from > to, to past the batch) fails the attempt: the event is retried, then dead-lettered with the InvalidOptionError; the others pass once, in order', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stages: [
          {
            name: 'range',
            module: stageUrl('forward-range'),
            consumes: ['in'],
            produces: ['out'],
            options: { to: 'out' },
            retry: { attempts: 2 },
            batchSize: 50,
          },
        ],
      }),
    );
    const reader = p.output.reader<any>('check');
    await p.start();
    const n = 200;
    // in a batch of one (how a failing event is handled in the end), forward(to)'s default `to` is 1
    const bad: Record<number, [{ from?: number; to?: number | 'past' }, string]> = {
      20: [{ from: 2, to: 1 }, 'got from 2, to 1'],
      50: [{ from: -1 }, 'got from -1, to 1'],
      90: [{ from: 0.5, to: 1 }, 'got from 0.5, to 1'],
      130: [{ from: 0, to: 'past' }, 'got from 0, to 2'],
      170: [{ from: 0, to: Number.NaN }, 'got from 0, to NaN'],
    };
    const values = Array.from({ length: n }, (_, id) => (id in bad ? { id, bad: bad[id][0] } : { id }));
    await p.publishBatchAsync('in', values);
    await p.drain({ timeoutMs: 20_000 });
    const out = everything(reader);
    const deadLetterTopic = p.describe().deadLetterTopic;
    expect(byTopic(out, 'out')).toEqual(values.filter((v) => !('bad' in v)));
    const dead = byTopic<any>(out, deadLetterTopic);
    expect(out.length).toBe(n);
    expect(dead.map((d) => d.value)).toEqual(values.filter((v) => 'bad' in v));
    for (const letter of dead) {
      expect(letter).toMatchObject({ stage: 'range', topic: 'in', attempts: 2, error: { name: 'InvalidOptionError' } });
      expect(letter.error.message).toContain('stage "range": forward(topic, from, to) takes whole numbers');
      expect(letter.error.message).toContain(bad[letter.value.id][1]);
    }
    const stats = p.stats().stages[0];
    expect(stats).toMatchObject({ eventsIn: n, retries: 5, deadLetters: 5 });
    // each bad event failed twice alone, after the failure of the batch it was in (one to four such batches)
    expect(stats.errors).toBeGreaterThanOrEqual(11);
    expect(stats.errors).toBeLessThanOrEqual(14);
  });

  it('a per-event forward() is taken back with a failed attempt; the retry forwards the event once', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stages: [{ name: 'f', module: stageUrl('forward-filter'), consumes: ['in'], produces: ['out'], options: { to: 'out' }, retry: { attempts: 3 } }],
      }),
    );
    const reader = p.output.reader<any>('check');
    await p.start();
    const n = 500;
    const values = Array.from({ length: n }, (_, id) => ({ id, flaky: id % 10 === 3, keep: id % 4 !== 1 }));
    await p.publishBatchAsync('in', values);
    await p.drain({ timeoutMs: 20_000 });
    const out = everything(reader);
    // a flaky event that is not kept: its first attempt forwarded it, then threw; the second drops it
    expect(out.map((e) => e.topic)).toEqual(out.map(() => 'out'));
    expect(out.map((e) => e.value)).toEqual(values.filter((v) => v.keep));
    expect(p.stats().stages[0]).toMatchObject({ eventsIn: n, eventsOut: values.filter((v) => v.keep).length, errors: n / 10, retries: n / 10, deadLetters: 0 });
  });

  it.each(['msgpack', 'raw'] as const)(
    'with the %s codec, forwarded into a feedback loop on a tiny ring: what does not fit goes round through the spill; each event comes out once',
    async (codec: PipelineCodec) => {
      const raw = codec === 'raw';
      const p = track(
        createPipeline({
          inputs: ['in'],
          outputs: ['out'],
          codec,
          capacity: 4096,
          stages: [{ name: 'loop', module: stageUrl('forward-loop'), consumes: ['in', 'again'], produces: ['again', 'out'], batchSize: 32 }],
        }),
      );
      expect(p.describe().cycles).toEqual([['loop']]);
      const reader = p.output.reader<any>('check');
      await p.start();
      const n = 5000;
      const values = Array.from({ length: n }, (_, id) => (raw ? rawPayload(id, 8 + (id % 9)) : { id, pad: 'x'.repeat(id % 20) }));
      const got: unknown[] = [];
      const reading = (async () => {
        const deadline = performance.now() + 30_000;
        while (got.length < n && performance.now() < deadline) {
          reader.poll((v, topic) => {
            expect(topic).toBe('out');
            got.push(raw ? Array.from(v as Uint8Array) : v);
          }, 4096);
          await reader.waitAsync(50);
        }
      })();
      for (let i = 0; i < n; i += 100) await p.publishBatchAsync('in', values.slice(i, i + 100), { timeoutMs: 20_000 });
      await reading;
      await p.drain({ timeoutMs: 20_000 });
      expect(reader.poll(() => undefined)).toBe(0);
      // no order round a loop: each event once, as it went in
      const key = (v: unknown) => JSON.stringify(v);
      expect(got.map(key).sort()).toEqual(values.map((v) => key(raw ? Array.from(v as Uint8Array) : v)).sort());
      const stats = p.stats();
      expect(stats.stages[0]).toMatchObject({ eventsIn: 2 * n, eventsOut: 2 * n, errors: 0, deadLetters: 0 });
      expect(stats.spilled).toBe(0);
      expect(stats.spilledTotal).toBeGreaterThan(0); // the ring was full: forwarded records went round through the spill
    },
  );

  it('a worker of a group of two dies in its records handler: the replacement takes that batch one event per call; each event comes out once, none dead-lettered', async () => {
    const flags = new Int32Array(new SharedArrayBuffer(4));
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out', 'sizes'],
        stages: [
          {
            name: 'fwd',
            module: stageUrl('records-forward'),
            consumes: ['in'],
            produces: ['out', 'sizes'],
            concurrency: 2,
            batchSize: 64,
            options: { to: 'out', sizes: 'sizes', flags },
          },
        ],
      }),
    );
    const reader = p.output.reader<any>('check');
    await p.start();
    const n = 2000;
    const values = Array.from({ length: n }, (_, id) => (id === 300 ? { id, die: 0 } : { id }));
    await p.publishBatchAsync('in', values);
    await p.drain({ timeoutMs: 20_000 });
    const out = everything(reader);
    expect(flags[0]).toBe(1);
    // two workers: in order per worker, not across them
    expect(byTopic<{ id: number }>(out, 'out').sort((a, b) => a.id - b.id)).toEqual(values);
    const calls = byTopic<CallSize>(out, 'sizes');
    expect(calls.reduce((sum, c) => sum + c.n, 0)).toBe(n);
    const singles = calls.filter((c) => c.n === 1).map((c) => c.seqs[0]);
    expect(singles.length).toBeGreaterThan(0);
    expect(out.length).toBe(n + calls.length);
    expect(p.stats().stages[0]).toMatchObject({ eventsIn: n, restarts: 1, errors: 1, retries: 0, deadLetters: 0 });
  });

  describe('a forwarded record too large for the ring it goes into', () => {
    // The first stage reads a large ring; the second's is small (4096 bytes: payloads of at most ~1000).
    const pipeline = (module: string) =>
      track(
        createPipeline({
          inputs: ['in'],
          outputs: ['out'],
          codec: 'raw',
          capacity: 1 << 16,
          stages: [
            { name: 'fwd', module: stageUrl(module), consumes: ['in'], produces: ['mid'], options: { to: 'mid' } },
            { name: 'small', module: stageUrl('forward-filter'), consumes: ['mid'], produces: ['out'], options: { to: 'out' }, capacity: 4096 },
          ],
        }),
      );
    const n = 40;
    const big = 17;
    const values = Array.from({ length: n }, (_, id) => rawPayload(id, id === big ? 3000 : 100));

    async function run(p: Pipeline): Promise<{ out: number[][]; dead: any[] }> {
      const reader = p.output.reader<any>('check');
      await p.start();
      await p.publishBatchAsync('in', values);
      await p.drain({ timeoutMs: 20_000 });
      const events = everything(reader);
      const deadLetterTopic = p.describe().deadLetterTopic;
      expect(events.every((e) => e.topic === 'out' || e.topic === deadLetterTopic)).toBe(true);
      return { out: byTopic<Uint8Array>(events, 'out').map((v) => Array.from(v)), dead: byTopic(events, deadLetterTopic) };
    }

    it('from a records handler: it goes to the dead letters as an emit does (the topic it went to, seq -1); the rest pass, once, in order', async () => {
      const p = pipeline('records-forward');
      const { out, dead } = await run(p);
      expect(out).toEqual(values.filter((_, id) => id !== big).map((v) => Array.from(v)));
      expect(dead).toHaveLength(1);
      expect(dead[0]).toMatchObject({ stage: 'fwd', topic: 'mid', seq: -1, attempts: 1, error: { name: 'RecordTooLargeError' } });
      expect(dead[0].error.message).toMatch(/record of 3000 bytes exceeds the largest payload/);
      expect(Array.from(dead[0].value as Uint8Array)).toEqual(Array.from(values[big]));
      expect(p.stats().stages.map((s) => [s.name, s.eventsIn, s.errors, s.deadLetters])).toEqual([
        ['fwd', n, 0, 1],
        ['small', n - 1, 0, 0],
      ]);
    });

    it('from a per-event handler: its input event goes to the dead letters, without a retry; the rest pass, once, in order', async () => {
      const p = pipeline('forward-filter');
      const { out, dead } = await run(p);
      expect(out).toEqual(values.filter((_, id) => id !== big).map((v) => Array.from(v)));
      expect(dead).toHaveLength(1);
      // the ring's first event has seq 0
      expect(dead[0]).toMatchObject({ stage: 'fwd', topic: 'in', seq: big, attempts: 1, error: { name: 'RecordTooLargeError' } });
      expect(dead[0].error.message).toMatch(/record of 3000 bytes exceeds the largest payload/);
      expect(Array.from(dead[0].value as Uint8Array)).toEqual(Array.from(values[big]));
      expect(p.stats().stages.map((s) => [s.name, s.eventsIn, s.errors, s.retries, s.deadLetters])).toEqual([
        ['fwd', n, 0, 0, 1],
        ['small', n - 1, 0, 0, 0],
      ]);
    });
  });
});

describe('which export a stage runs', () => {
  it('recordsExport, then batchExport, then export, then the module’s records, then batch, then handler or the default export', async () => {
    const which = stageUrl('which');
    const stages: [Partial<StageDeclaration> & { module: URL }, string][] = [
      [{ module: which }, 'records'],
      [{ module: which, export: 'handlerAlt' }, 'handlerAlt'],
      [{ module: which, batchExport: 'batchAlt' }, 'batchAlt'],
      [{ module: which, batchExport: 'batchAlt', export: 'handlerAlt' }, 'batchAlt'],
      [{ module: which, recordsExport: 'recordsAlt', batchExport: 'batchAlt', export: 'handlerAlt' }, 'recordsAlt'],
      [{ module: stageUrl('which-batch') }, 'batch'],
      [{ module: stageUrl('which-default') }, 'default'],
    ];
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: stages.map((_, k) => `o${k}`),
        standby: 0,
        stages: stages.map(([declaration], k) => ({ ...declaration, name: `s${k}`, consumes: ['in'], produces: [`o${k}`], options: { to: `o${k}` } })),
      }),
    );
    const reader = p.output.reader<any>('check');
    await p.start();
    const n = 20;
    await p.publishBatchAsync(
      'in',
      Array.from({ length: n }, (_, id) => ({ id })),
    );
    await p.drain({ timeoutMs: 20_000 });
    const out = everything(reader);
    expect(out).toHaveLength(n * stages.length);
    for (const [k, [, via]] of stages.entries()) {
      expect(byTopic(out, `o${k}`), `stage s${k}`).toEqual(Array.from({ length: n }, (_, id) => ({ via, id })));
    }
  });

  it.each([
    [{ module: 'which', recordsExport: 'nope' }, 'exports no records handler function "nope"'],
    [{ module: 'which', batchExport: 'nope' }, 'exports no batch handler function "nope"'],
    [{ module: 'which', export: 'nope' }, 'exports no handler function: export one as "nope"'],
    [{ module: 'which-default', recordsExport: 'records' }, 'exports no records handler function "records"'],
    [{ module: 'which-default', batchExport: 'batch' }, 'exports no batch handler function "batch"'],
  ] as const)('a named export the module lacks (%o) fails start() with an error naming it', async (declaration, message) => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        standby: 0,
        stages: [{ ...declaration, name: 'named', module: stageUrl(declaration.module), consumes: ['in'] }],
      }),
    );
    const error = await p.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(StageLoadError);
    expect((error as Error).message).toContain('stage "named"');
    expect((error as Error).message).toContain(message);
  });
});
