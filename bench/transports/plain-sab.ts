// plainSab: the plain-JS floor (plain-sab.ts, ../shared/BASELINES.md) with the same events
// and the same checks as every transport: the producer writes each event's 16 words, the
// consumer checks every byte. ring ÷ plainSab is what the ring's features cost.
import { type Endpoint, WorkerHost, workerUrl } from '../harness.js';
import type { FlowSpec, RunContext, Session, TransportUse } from '../flow.js';
import { plainSabStorage, PUBLISH_EVERY } from '../plain-sab.js';
import type { ConsumerData, ProducerData } from '../workers/protocol.js';
import { threadsSession } from './threads.js';

export function plainSab(o: { guessRate: number }): TransportUse {
  return {
    transport: 'plainSab',
    fits: (spec) => spec.payload === 'raw64' && spec.shape.producers === 1 && spec.shape.consumers === 1,
    async open(spec: FlowSpec, ctx: RunContext): Promise<Session> {
      const sab = plainSabStorage(ctx.capacity);
      const label = `${spec.scenario} plainSab`;
      const endpoints: Endpoint[] = [];
      try {
        const c: ConsumerData = { transport: 'plainSab', kind: spec.payload, stallMs: ctx.stallMs, producers: 1, strict: true, sab };
        endpoints.push(new WorkerHost(`${label} consumer`, workerUrl('reader'), c));
        await endpoints[0].next('attached');
        const p: ProducerData = { transport: 'plainSab', kind: spec.payload, stallMs: ctx.stallMs, p: 0, P: 1, fault: ctx.fault, sab };
        endpoints.push(new WorkerHost(`${label} producer`, workerUrl('producer'), p));
        await endpoints[1].next('attached');
      } catch (err) {
        await Promise.all(endpoints.map((e) => e.terminate()));
        throw err;
      }
      return threadsSession({
        transport: 'plainSab',
        how:
          `the plain-JS floor: a bare SharedArrayBuffer ring of 64-byte slots, head stored + notified every ${PUBLISH_EVERY} records, ` +
          `tail stored per batch of ≤1024, Atomics.wait 1 ms only when it must; worker -> worker`,
        busyThreads: 2,
        guessRate: o.guessRate,
        details: { api: 'SharedArrayBuffer + Atomics (bench/plain-sab.ts)', publishEvery: PUBLISH_EVERY, capacity: ctx.capacity },
        spec,
        consumers: [endpoints[0]],
        producers: [endpoints[1]],
      });
    },
  };
}
