// micro: single-thread costs, measured with tinybench in the main thread. Every task does
// 1,000 operations per iteration (so the timer's floor does not dominate) and is reported
// per operation. Publishing tasks drain the ring in afterEach (outside the timing); reading
// tasks fill it in beforeEach. The codec rows compare the libraries on the small object
// (payload.ts: a telemetry tick) and on a bigger one (nested objects, an array of 10, 200 characters).
import { serialize, deserialize } from 'node:v8';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { Packr, Unpackr } from 'msgpackr';
import { createBus, msgpack, structured, type Codec, type RawRecord } from 'ringbus';
import { Bench } from 'tinybench';
import { rawTemplate, tick, type Tick } from '../payload.js';
import type { MicroRow, Scenario, ScenarioResult } from '../scenario.js';

const K = 1000;
/** H_COMMITTED in src/layout.ts: the header's committed-events counter (an i64). */
const H_COMMITTED = 96;

interface MicroTask {
  name: string;
  detail: string;
  fn: () => void;
  beforeEach?: () => void;
  afterEach?: () => void;
}

let sink = 0;

function tasks(): { list: MicroTask[]; close: () => void } {
  const raw = createBus({ capacity: 1 << 22, topics: ['t'], codec: 'raw' });
  const rawReader = raw.reader('micro', { batchSize: K });
  const obj = createBus({ capacity: 1 << 22, topics: ['t'] }); // the default codec, 'structured'
  const objReader = obj.reader<Tick>('micro', { batchSize: K });
  const mp = createBus({ capacity: 1 << 22, topics: ['t'], codec: 'msgpack' });
  const mpReader = mp.reader<Tick>('micro', { batchSize: K });
  const u8 = rawTemplate(64);
  const onRaw = (r: RawRecord) => (sink += r.length);
  const onObj = (v: Tick) => (sink += v.seq);
  const drainRaw = () => {
    while (rawReader.pollRaw(onRaw, 4096) > 0);
  };
  const drainObj = () => {
    while (objReader.poll(onObj, 4096) > 0);
  };
  const drainMp = () => {
    while (mpReader.poll(onObj, 4096) > 0);
  };
  const fillRaw = () => {
    for (let i = 0; i < K; i += 100) raw.claim('t', 64, { count: 100 }).commit();
  };
  const ticks = Array.from({ length: K }, (_, i) => tick(i));
  const batches = Array.from({ length: K / 100 }, (_, b) => ticks.slice(b * 100, b * 100 + 100));
  const bigs = Array.from({ length: K }, (_, i) => bigObject(i));
  // the core's own export against its JavaScript equivalent: one atomic load of an i64
  const core = new WebAssembly.Instance(raw.handle.module as WebAssembly.Module, { env: { memory: raw.handle.memory as WebAssembly.Memory } }).exports as {
    counter(offset: number): number;
  };
  const base = (raw.handle.memory.buffer as unknown as SharedArrayBuffer).byteLength; // any i64 of shared memory does for the JS side
  const i64 = new BigInt64Array(raw.handle.memory.buffer as unknown as SharedArrayBuffer, 0, base >> 3);
  const i32 = new Int32Array(raw.handle.memory.buffer as unknown as SharedArrayBuffer, 0, 64);
  const list: MicroTask[] = [
    {
      name: 'ring publish',
      detail: 'bus.publish() of a 64-byte Uint8Array (raw codec)',
      fn: () => {
        for (let i = 0; i < K; i++) raw.publish('t', u8);
      },
      afterEach: drainRaw,
    },
    { name: 'ring claim x100 + commit', detail: 'bus.claim(t, 64, { count: 100 }) + commit(), per event, nothing written', fn: fillRaw, afterEach: drainRaw },
    { name: 'ring pollRaw', detail: 'reader.pollRaw() per event (64-byte records), handler reads length', fn: drainRaw, beforeEach: fillRaw },
    {
      name: 'ring publish (structured)',
      detail: 'bus.publish() of one small object, default codec (encode included)',
      fn: () => {
        for (const t of ticks) obj.publish('t', t);
      },
      afterEach: drainObj,
    },
    {
      name: 'ring publishBatch (structured)',
      detail: 'bus.publishBatch() of 100 small objects, per event, default codec (encode included)',
      fn: () => {
        for (const b of batches) obj.publishBatch('t', b);
      },
      afterEach: drainObj,
    },
    {
      name: 'ring poll (structured)',
      detail: 'reader.poll() per small object, default codec (decode included)',
      fn: drainObj,
      beforeEach: () => {
        for (const b of batches) obj.publishBatch('t', b);
      },
    },
    {
      name: 'ring publishBatch (msgpack)',
      detail: "bus.publishBatch() of 100 small objects, per event, codec 'msgpack'",
      fn: () => {
        for (const b of batches) mp.publishBatch('t', b);
      },
      afterEach: drainMp,
    },
    {
      name: 'ring poll (msgpack)',
      detail: "reader.poll() per small object, codec 'msgpack'",
      fn: drainMp,
      beforeEach: () => {
        for (const b of batches) mp.publishBatch('t', b);
      },
    },
    ...codecRows('small', ticks),
    ...codecRows('big', bigs),
    {
      name: 'WASM call (counter)',
      detail: "one call of the core's counter() export: an atomic i64 load",
      fn: () => {
        for (let i = 0; i < K; i++) sink += core.counter(H_COMMITTED);
      },
    },
    {
      name: 'JS Atomics.load i64',
      detail: 'Number(Atomics.load(BigInt64Array)): the same load in JavaScript',
      fn: () => {
        for (let i = 0; i < K; i++) sink += Number(Atomics.load(i64, H_COMMITTED >> 3));
      },
    },
    {
      name: 'JS Atomics.load i32',
      detail: 'Atomics.load(Int32Array): a 32-bit load',
      fn: () => {
        for (let i = 0; i < K; i++) sink += Atomics.load(i32, 3);
      },
    },
  ];
  return {
    list,
    close: () => {
      raw.close();
      obj.close();
      mp.close();
    },
  };
}

/** A bigger object: nested objects, an array of 10 small ones, a 200-character string. */
function bigObject(i: number) {
  return {
    id: i,
    user: { name: `user${i}`, email: `u${i}@example.com`, tags: ['a', 'bb', 'ccc'] },
    items: Array.from({ length: 10 }, (_, k) => ({ sku: `sku-${k}`, qty: k, price: k * 1.25 })),
    note: 'x'.repeat(200),
    ok: true,
  };
}

/** Encode and decode of each candidate codec, per object; decode reads copies made outside the timing. */
function codecRows(shape: string, values: readonly object[]): MicroTask[] {
  const strict = new Encoder();
  const strictDecoder = new Decoder();
  const plainPackr = new Packr({ moreTypes: true, useRecords: false, useToJSON: false, copyBuffers: true });
  const plainUnpackr = new Unpackr({ moreTypes: true, useRecords: false, mapsAsObjects: true, copyBuffers: true });
  // Records whose definitions both sides already hold, as a structure table in the ring's memory would give
  const structures: object[] = [];
  const sharedPackr = new Packr({ moreTypes: true, structures, maxSharedStructures: 32, getStructures: () => structures, saveStructures: () => true });
  const sharedUnpackr = new Unpackr({ moreTypes: true, structures, getStructures: () => structures });
  const candidates: Array<{ name: string; detail: string; encode(v: unknown): Uint8Array; decode(b: Uint8Array): unknown }> = [
    { name: 'structured', detail: "ringbus's default codec (the walk that picks the form, then msgpackr)", ...codec(structured()) },
    { name: 'msgpack', detail: "ringbus's 'msgpack' codec: @msgpack/msgpack, Encoder and Decoder reused", ...codec(msgpack()) },
    {
      name: '@msgpack/msgpack',
      detail: 'Encoder.encode() / Decoder.decode(), reused',
      encode: (v) => strict.encode(v),
      decode: (b) => strictDecoder.decode(b),
    },
    {
      name: 'msgpackr',
      detail: 'Packr { moreTypes, useRecords: false }: what structured uses for plain values',
      encode: (v) => plainPackr.pack(v),
      decode: (b) => plainUnpackr.unpack(b),
    },
    {
      name: 'msgpackr shared records',
      detail: 'Packr with shared structures (keys sent once, held by both sides)',
      encode: (v) => sharedPackr.pack(v),
      decode: (b) => sharedUnpackr.unpack(b),
    },
    {
      name: 'v8.serialize',
      detail: "node:v8 serialize() / deserialize(): structured clone's own format",
      encode: (v) => serialize(v),
      decode: (b) => deserialize(b),
    },
  ];
  const rows: MicroTask[] = [];
  for (const c of candidates) {
    const encoded = values.map((v) => c.encode(v).slice());
    rows.push({
      name: `${c.name} encode (${shape})`,
      detail: `${c.detail}; encode of the ${shape} object`,
      fn: () => {
        for (const v of values) sink += c.encode(v).length;
      },
    });
    rows.push({
      name: `${c.name} decode (${shape})`,
      detail: `${c.detail}; decode of the ${shape} object`,
      fn: () => {
        for (const e of encoded) sink += c.decode(e) === null ? 0 : 1;
      },
    });
  }
  rows.push({
    name: `structuredClone (${shape})`,
    detail: `structuredClone() of the ${shape} object (postMessage's copy)`,
    fn: () => {
      for (const v of values) sink += structuredClone(v) === null ? 0 : 1;
    },
  });
  return rows;
}

function codec(c: Codec<unknown>): { encode(v: unknown): Uint8Array; decode(b: Uint8Array): unknown } {
  return { encode: (v) => c.encode(v), decode: (b) => c.decode(b) };
}

const scenario: Scenario = {
  name: 'micro',
  title: `micro-costs in one thread (tinybench; ${K} operations per iteration, reported per operation)`,
  kind: 'micro',
  steps: () => 37,
  async run(ctx): Promise<ScenarioResult> {
    const { list, close } = tasks();
    const bench = new Bench({ time: ctx.quick ? 100 : 400, warmupTime: ctx.quick ? 30 : 100 });
    for (const t of list) bench.add(t.name, t.fn, { beforeEach: t.beforeEach, afterEach: t.afterEach });
    bench.addEventListener('cycle', (e) => ctx.tick(`micro ${e.task?.name ?? ''}`, ''));
    await bench.run();
    close();
    const micro: MicroRow[] = [];
    for (const t of bench.tasks) {
      const r = t.result;
      if (r.state !== 'completed') throw new Error(`micro: task "${t.name}" ${r.state}${'error' in r ? `: ${(r.error as Error)?.message}` : ''}`);
      const ns = (r.latency.mean * 1e6) / K;
      micro.push({
        name: t.name,
        nsPerOp: Math.round(ns * 100) / 100,
        opsPerSec: Math.round(1e9 / ns),
        rme: Math.round(r.latency.rme * 10) / 10,
        samples: r.latency.samplesCount,
        detail: list.find((x) => x.name === t.name)!.detail,
      });
    }
    if (sink === 0.5) console.log(''); // keeps the sink alive
    return { name: 'micro', title: scenario.title, kind: 'micro', rows: [], targets: [], notes: [], micro };
  },
};

export default scenario;
