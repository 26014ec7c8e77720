// micro: single-thread costs, measured with tinybench in the main thread. Every task does
// 1,000 operations per iteration (so the timer's floor does not dominate) and is reported
// per operation. Publishing tasks drain the ring in afterEach (outside the timing); reading
// tasks fill it in beforeEach.
import { Decoder, Encoder } from '@msgpack/msgpack';
import { createBus, type RawRecord } from 'ringbus';
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
  const obj = createBus({ capacity: 1 << 22, topics: ['t'], codec: 'msgpack' });
  const objReader = obj.reader<Tick>('micro', { batchSize: K });
  const u8 = rawTemplate(64);
  const onRaw = (r: RawRecord) => (sink += r.length);
  const onObj = (v: Tick) => (sink += v.seq);
  const drainRaw = () => {
    while (rawReader.pollRaw(onRaw, 4096) > 0);
  };
  const drainObj = () => {
    while (objReader.poll(onObj, 4096) > 0);
  };
  const fillRaw = () => {
    for (let i = 0; i < K; i += 100) raw.claim('t', 64, { count: 100 }).commit();
  };
  const ticks = Array.from({ length: K }, (_, i) => tick(i));
  const batches = Array.from({ length: K / 100 }, (_, b) => ticks.slice(b * 100, b * 100 + 100));
  const encoder = new Encoder();
  const decoder = new Decoder();
  const encoded = ticks.map((t) => encoder.encode(t).slice());
  // the core's own export against its JavaScript equivalent: one atomic load of an i64
  const core = new WebAssembly.Instance(raw.handle.module, { env: { memory: raw.handle.memory } }).exports as { counter(offset: number): number };
  const base = (raw.handle.memory.buffer as unknown as SharedArrayBuffer).byteLength; // any i64 of shared memory does for the JS side
  const i64 = new BigInt64Array(raw.handle.memory.buffer as unknown as SharedArrayBuffer, 0, base >> 3);
  const i32 = new Int32Array(raw.handle.memory.buffer as unknown as SharedArrayBuffer, 0, 64);
  const list: MicroTask[] = [
    { name: 'ring publish', detail: 'bus.publish() of a 64-byte Uint8Array (raw codec)', fn: () => { for (let i = 0; i < K; i++) raw.publish('t', u8); }, afterEach: drainRaw },
    { name: 'ring claim x100 + commit', detail: 'bus.claim(t, 64, { count: 100 }) + commit(), per event, nothing written', fn: fillRaw, afterEach: drainRaw },
    { name: 'ring pollRaw', detail: 'reader.pollRaw() per event (64-byte records), handler reads length', fn: drainRaw, beforeEach: fillRaw },
    { name: 'ring publishBatch (msgpack)', detail: 'bus.publishBatch() of 100 small objects, per event (encode included)', fn: () => { for (const b of batches) obj.publishBatch('t', b); }, afterEach: drainObj },
    { name: 'ring poll (msgpack)', detail: 'reader.poll() per small object (decode included)', fn: drainObj, beforeEach: () => { for (const b of batches) obj.publishBatch('t', b); } },
    { name: 'msgpack encode', detail: '@msgpack/msgpack Encoder.encode() of the small object', fn: () => { for (const t of ticks) sink += encoder.encode(t).length; } },
    { name: 'msgpack decode', detail: '@msgpack/msgpack Decoder.decode() of the small object', fn: () => { for (const e of encoded) sink += (decoder.decode(e) as Tick).seq; } },
    { name: 'structuredClone', detail: "structuredClone() of the small object (postMessage's copy)", fn: () => { for (const t of ticks) sink += structuredClone(t).seq; } },
    { name: 'WASM call (counter)', detail: "one call of the core's counter() export: an atomic i64 load", fn: () => { for (let i = 0; i < K; i++) sink += core.counter(H_COMMITTED); } },
    { name: 'JS Atomics.load i64', detail: 'Number(Atomics.load(BigInt64Array)): the same load in JavaScript', fn: () => { for (let i = 0; i < K; i++) sink += Number(Atomics.load(i64, H_COMMITTED >> 3)); } },
    { name: 'JS Atomics.load i32', detail: 'Atomics.load(Int32Array): a 32-bit load', fn: () => { for (let i = 0; i < K; i++) sink += Atomics.load(i32, 3); } },
  ];
  return {
    list,
    close: () => {
      raw.close();
      obj.close();
    },
  };
}

const scenario: Scenario = {
  name: 'micro',
  title: `micro-costs in one thread (tinybench; ${K} operations per iteration, reported per operation)`,
  kind: 'micro',
  steps: () => 11,
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
      micro.push({ name: t.name, nsPerOp: Math.round(ns * 100) / 100, opsPerSec: Math.round(1e9 / ns), rme: Math.round(r.latency.rme * 10) / 10, samples: r.latency.samplesCount, detail: list.find((x) => x.name === t.name)!.detail });
    }
    if (sink === 0.5) console.log(''); // keeps the sink alive
    return { name: 'micro', title: scenario.title, kind: 'micro', rows: [], targets: [], notes: [], micro };
  },
};

export default scenario;
