// ringbuf.js (Paul Adenot's wait-free SPSC ring over a SharedArrayBuffer): a peer for
// one producer and one consumer of raw bytes. It has no wait: both sides spin briefly, then
// sleep in 50 µs slices.
import { RingBuffer } from 'ringbuf.js';
import type { FlowSpec, RunContext, Session, TransportUse } from '../flow.js';
import { openSabPair, threadsSession } from './threads.js';

export function ringbufjs(o: { guessRate: number }): TransportUse {
  return {
    transport: 'ringbuf.js',
    fits: (spec) => spec.payload !== 'msgpack' && spec.shape.producers === 1 && spec.shape.consumers === 1,
    async open(spec: FlowSpec, ctx: RunContext): Promise<Session> {
      const [consumer, producer] = await openSabPair(
        `${spec.scenario} ringbuf.js`,
        'ringbufjs',
        RingBuffer.getStorageForCapacity(ctx.capacity, Uint8Array as never),
        spec,
        ctx,
      );
      return threadsSession({
        transport: 'ringbuf.js',
        how: `push of 64 KiB of events (copied in), pop of whole events (copied out); spin then sleep 50 µs; worker -> worker`,
        busyThreads: 2,
        guessRate: o.guessRate,
        details: { api: 'RingBuffer push/pop (ringbuf.js 0.4.0)', capacity: ctx.capacity },
        spec,
        consumers: [consumer],
        producers: [producer],
      });
    },
  };
}
