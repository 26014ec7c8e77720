// Producer worker: publishes its share of each run over the ring, MessagePorts, a
// BroadcastChannel, ringbuf.js, the plain-JS ring or thread-stream.
// Producer p of P writes sequence numbers p, p + P, p + 2P, ... (payload.ts).
import { once } from 'node:events';
import { BroadcastChannel, parentPort, workerData } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { attach, type Bus } from 'ringbus';
import ThreadStream from 'thread-stream';
import { PlainSabProducer, PUBLISH_EVERY } from '../plain-sab.js';
import { corruptRaw, corruptText, corruptTick, PAYLOAD_BYTES, RawWriter, SeqPlan, stampWords, tick, type Tick, writeTextEvent } from '../payload.js';
import type { ProducerData, ProducerDone, RunCommand } from './protocol.js';

const data = workerData as ProducerData;
const port = parentPort!;
const plan = new SeqPlan(data.p, data.P, data.fault);
const bytes = PAYLOAD_BYTES[data.kind];
const writer = bytes > 0 ? new RawWriter(bytes) : undefined;
const P = data.P;
const p = data.p;

/** Event i of this run as an object (msgpack payload). */
function objectAt(i: number): Tick {
  const v = tick(plan.seq(i));
  return plan.corrupt(i) ? corruptTick(v) : v;
}

/** Writes event i of this run at byte `at` of u8 (whose words are w). */
function rawAt(u8: Uint8Array, w: Int32Array, at: number, i: number): void {
  writer!.write(u8, w, at, plan.seq(i));
  if (plan.corrupt(i)) corruptRaw(w, at >> 2);
}

/** A staging buffer of `count` raw events, re-stamped per batch. */
function staging(count: number): { u8: Uint8Array; w: Int32Array } {
  const u8 = new Uint8Array(count * bytes);
  return { u8, w: new Int32Array(u8.buffer) };
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function ringRunner(d: Extract<ProducerData, { transport: 'ring' }>): (n: number) => void {
  const bus: Bus = attach(d.handle, { codec: d.kind === 'msgpack' ? 'structured' : 'raw', wait: d.wait });
  const count = d.count;
  if (d.mode === 'claim') {
    // Zero copy: claim `count` records at once, write each event in place, one commit.
    const full = { count };
    let memory: ArrayBufferLike | undefined;
    let u8: Uint8Array = new Uint8Array(0);
    let words: Int32Array = new Int32Array(0);
    const fast = bytes === 64;
    return (n) => {
      let i = 0;
      while (i < n) {
        const k = Math.min(count, n - i);
        const claim = bus.claim('t', bytes, k === count ? full : { count: k });
        const view = claim.bytes;
        if (view.buffer !== memory) {
          memory = view.buffer;
          u8 = new Uint8Array(memory);
          words = new Int32Array(memory);
        }
        // byteOffset and stride are multiples of 16: whole words, 16-byte aligned.
        let at = view.byteOffset;
        const stride = claim.stride;
        const end = i + k;
        if (fast && plan.plain(i, k)) {
          let w = at >> 2;
          const step = stride >> 2;
          for (; i < end; i++, w += step) stampWords(words, w, i * P + p);
        } else {
          for (; i < end; i++, at += stride) rawAt(u8, words, at, i);
        }
        claim.commit();
      }
    };
  }
  if (d.mode === 'batch') {
    if (d.kind === 'msgpack') {
      return (n) => {
        for (let i = 0; i < n; ) {
          const k = Math.min(count, n - i);
          const values: Tick[] = new Array(k);
          for (let j = 0; j < k; j++) values[j] = objectAt(i + j);
          bus.publishBatch('t', values);
          i += k;
        }
      };
    }
    const payloads: Uint8Array[] = [];
    const views: Int32Array[] = [];
    for (let j = 0; j < count; j++) {
      const s = staging(1);
      payloads.push(s.u8);
      views.push(s.w);
    }
    const keys = d.keys;
    let first = 0;
    const keyed = keys === undefined ? undefined : { keyOf: (_: unknown, j: number) => (first + j) % keys };
    return (n) => {
      for (let i = 0; i < n; ) {
        const k = Math.min(count, n - i);
        for (let j = 0; j < k; j++) rawAt(payloads[j], views[j], 0, i + j);
        first = i;
        bus.publishBatch('t', k === count ? payloads : payloads.slice(0, k), keyed);
        i += k;
      }
    };
  }
  // one publish per event
  if (d.kind === 'msgpack') {
    return (n) => {
      for (let i = 0; i < n; i++) bus.publish('t', objectAt(i));
    };
  }
  const one = staging(1);
  return (n) => {
    for (let i = 0; i < n; i++) {
      rawAt(one.u8, one.w, 0, i);
      bus.publish('t', one.u8);
    }
  };
}

function portsRunner(d: Extract<ProducerData, { transport: 'ports' }>): (n: number) => void {
  const ports = d.ports;
  const batch = d.batch;
  const all = d.delivery === 'all';
  // postMessage copies (structured clone) what it sends, so a raw staging buffer is reused.
  const s = bytes > 0 ? staging(batch) : undefined;
  return (n) => {
    let m = 0; // messages sent this run: a group's round robin
    for (let i = 0; i < n; m++) {
      const k = Math.min(batch, n - i);
      let msg: unknown;
      if (s) {
        for (let j = 0; j < k; j++) rawAt(s.u8, s.w, j * bytes, i + j);
        msg = k === batch ? s.u8 : s.u8.subarray(0, k * bytes);
      } else if (batch === 1) {
        msg = objectAt(i);
      } else {
        const values: Tick[] = new Array(k);
        for (let j = 0; j < k; j++) values[j] = objectAt(i + j);
        msg = values;
      }
      if (all) for (const p of ports) p.postMessage(msg);
      else ports[m % ports.length].postMessage(msg);
      i += k;
    }
  };
}

function ringbufRunner(d: Extract<ProducerData, { transport: 'ringbufjs' }>): (n: number) => void {
  const rb = new RingBuffer(d.sab, Uint8Array as never);
  const batch = Math.max(1, Math.floor(65536 / bytes));
  const s = staging(batch);
  return (n) => {
    for (let i = 0; i < n; ) {
      const k = Math.min(batch, n - i);
      for (let j = 0; j < k; j++) rawAt(s.u8, s.w, j * bytes, i + j);
      // push() writes what fits (a byte stream): push the rest once the reader made room
      let off = 0;
      const len = k * bytes;
      let idle = 0;
      let since = performance.now();
      while (off < len) {
        const put = rb.push(s.u8 as never, len - off, off);
        if (put > 0) {
          off += put;
          idle = 0;
          since = performance.now();
        } else if (++idle > 200) {
          sleepMs(0.05);
          if (performance.now() - since > d.stallMs) throw new Error(`ringbuf.js stayed full for ${d.stallMs} ms`);
        }
      }
      i += k;
    }
  };
}

function plainSabRunner(d: Extract<ProducerData, { transport: 'plainSab' }>): (n: number) => void {
  const ring = new PlainSabProducer(d.sab);
  const { words, u8 } = ring;
  return (n) => {
    for (let i = 0; i < n; ) {
      const k = Math.min(PUBLISH_EVERY, n - i);
      const first = ring.reserve(k, d.stallMs);
      const end = i + k;
      if (plan.plain(i, k)) {
        for (let r = first; i < end; i++, r++) stampWords(words, ring.wordOf(r), i * P + p);
      } else {
        for (let r = first; i < end; i++, r++) rawAt(u8, words, ring.wordOf(r) << 2, i);
      }
      ring.publish(k);
    }
  };
}

function broadcastRunner(d: Extract<ProducerData, { transport: 'broadcast' }>): (n: number) => void {
  const channel = new BroadcastChannel(d.channel);
  const s = staging(1); // postMessage copies what it sends
  return (n) => {
    for (let i = 0; i < n; i++) {
      rawAt(s.u8, s.w, 0, i);
      channel.postMessage(s.u8);
    }
  };
}

/** Resolves once the sink's worker has started (thread-stream's 'ready'). */
let started: Promise<unknown> = Promise.resolve();

function threadStreamRunner(d: Extract<ProducerData, { transport: 'threadStream' }>): (n: number) => Promise<void> {
  const stream = new ThreadStream({
    filename: new URL('./thread-stream-sink.js', import.meta.url).href,
    bufferSize: d.bufferSize,
    workerData: { port: d.port, stallMs: d.stallMs },
    workerOpts: { transferList: [d.port] },
  });
  let failure: Error | undefined;
  stream.on('error', (err: Error) => (failure = err));
  started = once(stream, 'ready');
  // One write() of a 64-byte Buffer per event, as a logger writes its lines. The stream keeps
  // each Buffer until it copies it into its SharedArrayBuffer: a new one per event.
  const write = stream.write.bind(stream) as unknown as (b: Buffer) => boolean;
  return async (n) => {
    for (let i = 0; i < n; i++) {
      const b = Buffer.allocUnsafe(64);
      writeTextEvent(b, plan.seq(i));
      if (plan.corrupt(i)) corruptText(b);
      if (!write(b)) await once(stream, 'drain');
      if (failure) throw failure;
    }
  };
}

const run: (n: number) => void | Promise<void> =
  data.transport === 'ring'
    ? ringRunner(data)
    : data.transport === 'ports'
      ? portsRunner(data)
      : data.transport === 'plainSab'
        ? plainSabRunner(data)
        : data.transport === 'broadcast'
          ? broadcastRunner(data)
          : data.transport === 'threadStream'
            ? threadStreamRunner(data)
            : ringbufRunner(data);

port.on('message', async (msg: RunCommand) => {
  if (msg.type !== 'run') return;
  plan.arm(msg.n);
  try {
    const t0 = process.hrtime.bigint();
    await run(msg.n);
    const t1 = process.hrtime.bigint();
    port.postMessage({ type: 'done', t0, t1 } satisfies ProducerDone);
  } catch (err) {
    port.postMessage({ type: 'failed', message: `producer ${data.p} threw: ${(err as Error).stack ?? err}` });
  }
});
started.then(
  () => port.postMessage({ type: 'attached' }),
  (err: unknown) => port.postMessage({ type: 'failed', message: `producer ${data.p} could not start: ${(err as Error).stack ?? err}` }),
);
