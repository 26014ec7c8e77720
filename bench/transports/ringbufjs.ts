// ringbuf.js (Paul Adenot's wait-free SPSC ring over a SharedArrayBuffer): a peer for
// one producer and one consumer of raw bytes. It has no wait: both sides spin briefly, then
// sleep in 50 µs slices.
import { RingBuffer } from 'ringbuf.js';
import { type Endpoint, WorkerHost, workerUrl } from '../harness.js';
import type { FlowSpec, RunContext, Session, TransportUse } from '../flow.js';
import type { ConsumerData, ProducerData } from '../workers/protocol.js';
import { threadsSession } from './threads.js';

export function ringbufjs(o: { guessRate: number }): TransportUse {
  return {
    transport: 'ringbuf.js',
    fits: (spec) => spec.payload !== 'msgpack' && spec.shape.producers === 1 && spec.shape.consumers === 1,
    async open(spec: FlowSpec, ctx: RunContext): Promise<Session> {
      const sab = RingBuffer.getStorageForCapacity(ctx.capacity, Uint8Array as never);
      const label = `${spec.scenario} ringbuf.js`;
      const endpoints: Endpoint[] = [];
      try {
        const c: ConsumerData = { transport: 'ringbufjs', kind: spec.payload, stallMs: ctx.stallMs, producers: 1, strict: true, sab };
        endpoints.push(new WorkerHost(`${label} consumer`, workerUrl('reader'), c));
        await endpoints[0].next('attached');
        const p: ProducerData = { transport: 'ringbufjs', kind: spec.payload, stallMs: ctx.stallMs, p: 0, P: 1, fault: ctx.fault, sab };
        endpoints.push(new WorkerHost(`${label} producer`, workerUrl('producer'), p));
        await endpoints[1].next('attached');
      } catch (err) {
        await Promise.all(endpoints.map((e) => e.terminate()));
        throw err;
      }
      return threadsSession({
        transport: 'ringbuf.js',
        how: `push of 64 KiB of events (copied in), pop of whole events (copied out); spin then sleep 50 µs; worker -> worker`,
        busyThreads: 2,
        guessRate: o.guessRate,
        details: { api: 'RingBuffer push/pop (ringbuf.js 0.4.0)', capacity: ctx.capacity },
        spec,
        consumers: [endpoints[0]],
        producers: [endpoints[1]],
      });
    },
  };
}
