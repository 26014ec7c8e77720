// thread-stream (pino's transport to a worker: the most deployed SharedArrayBuffer ring in
// Node): the producer worker writes each 64-byte event as one write() of a Buffer; the
// stream copies it into its SharedArrayBuffer and its worker hands the bytes, decoded as
// UTF-8, to our sink (workers/thread-stream-sink.ts). A byte stream of text: the event is
// a 64-byte line of text (payload.ts), every byte checked. Async writes, with 'drain' as
// backpressure, as a logger uses it.
import { MessageChannel } from 'node:worker_threads';
import { PortHost, WorkerHost, workerUrl } from '../harness.js';
import type { FlowSpec, RunContext, Session, TransportUse } from '../flow.js';
import type { ProducerData } from '../workers/protocol.js';
import { threadsSession } from './threads.js';

/** thread-stream's default buffer. */
const BUFFER_SIZE = 4 << 20;

export function threadStream(o: { guessRate: number }): TransportUse {
  return {
    transport: 'thread-stream',
    fits: (spec) => spec.payload === 'raw64' && spec.shape.producers === 1 && spec.shape.consumers === 1,
    async open(spec: FlowSpec, ctx: RunContext): Promise<Session> {
      const label = `${spec.scenario} thread-stream`;
      const { port1, port2 } = new MessageChannel();
      const sink = new PortHost(`${label} sink`, port1);
      let producer: WorkerHost | undefined;
      try {
        const p: ProducerData = {
          transport: 'threadStream',
          kind: spec.payload,
          stallMs: ctx.stallMs,
          p: 0,
          P: 1,
          fault: ctx.fault,
          port: port2,
          bufferSize: BUFFER_SIZE,
        };
        producer = new WorkerHost(`${label} producer`, workerUrl('producer'), p, [port2]);
        await Promise.all([sink.next('attached'), producer.next('attached')]);
      } catch (err) {
        await Promise.all([sink.terminate(), producer?.terminate()]);
        throw err;
      }
      return threadsSession({
        transport: 'thread-stream',
        how: `write() of one 64-byte Buffer per event (a line of text), async with 'drain'; ${BUFFER_SIZE >> 20} MiB buffer; producer worker -> its thread-stream worker`,
        busyThreads: 2,
        guessRate: o.guessRate,
        details: { api: 'ThreadStream.write (thread-stream 4.2.1)', bufferSize: BUFFER_SIZE, payloadAs: '64-byte line of text' },
        spec,
        consumers: [sink],
        producers: [producer],
      });
    },
  };
}
