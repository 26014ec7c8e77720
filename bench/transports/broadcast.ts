// broadcastChannel: Node's BroadcastChannel, one postMessage per event from the producer
// worker; every consumer worker holds a channel of the same name and sees every event.
import { randomUUID } from 'node:crypto';
import { type Endpoint, WorkerHost, workerUrl } from '../harness.js';
import type { FlowSpec, RunContext, Session, TransportUse } from '../flow.js';
import type { ConsumerData, ProducerData } from '../workers/protocol.js';
import { threadsSession } from './threads.js';

export function broadcastChannel(o: { guessRate: number }): TransportUse {
  return {
    transport: 'broadcastChannel',
    fits: (spec) => spec.shape.producers === 1 && spec.shape.delivery === 'all',
    async open(spec: FlowSpec, ctx: RunContext): Promise<Session> {
      const channel = `ringbus-bench-${randomUUID()}`;
      const C = spec.shape.consumers;
      const label = `${spec.scenario} broadcastChannel`;
      const consumers: Endpoint[] = [];
      const producers: Endpoint[] = [];
      try {
        for (let c = 0; c < C; c++) {
          const d: ConsumerData = { transport: 'broadcast', kind: spec.payload, stallMs: ctx.stallMs, producers: 1, strict: true, channel };
          consumers.push(new WorkerHost(`${label} consumer ${c}`, workerUrl('reader'), d));
          await consumers[c].next('attached');
        }
        const p: ProducerData = { transport: 'broadcast', kind: spec.payload, stallMs: ctx.stallMs, p: 0, P: 1, fault: ctx.fault, channel };
        producers.push(new WorkerHost(`${label} producer`, workerUrl('producer'), p));
        await producers[0].next('attached');
      } catch (err) {
        await Promise.all([...consumers, ...producers].map((e) => e.terminate()));
        throw err;
      }
      return threadsSession({
        transport: 'broadcastChannel',
        how: `BroadcastChannel.postMessage per event, producer worker -> ${C} workers (each sees every event)`,
        busyThreads: 1 + C,
        guessRate: o.guessRate,
        details: { api: 'BroadcastChannel.postMessage', batch: 1 },
        spec,
        consumers,
        producers,
      });
    },
  };
}
