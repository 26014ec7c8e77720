// plainSab: the plain-JS floor (bench/plain-sab.ts) with the same events
// and the same checks as every transport: the producer writes each event's 16 words, the
// consumer checks every byte. ring ÷ plainSab is what the ring's features cost.
import type { FlowSpec, RunContext, Session, TransportUse } from '../flow.js';
import { plainSabStorage, PUBLISH_EVERY } from '../plain-sab.js';
import { openSabPair, threadsSession } from './threads.js';

export function plainSab(o: { guessRate: number }): TransportUse {
  return {
    transport: 'plainSab',
    fits: (spec) => spec.payload === 'raw64' && spec.shape.producers === 1 && spec.shape.consumers === 1,
    async open(spec: FlowSpec, ctx: RunContext): Promise<Session> {
      const [consumer, producer] = await openSabPair(`${spec.scenario} plainSab`, 'plainSab', plainSabStorage(ctx.capacity), spec, ctx);
      return threadsSession({
        transport: 'plainSab',
        how:
          `the plain-JS floor: a bare SharedArrayBuffer ring of 64-byte slots, head stored + notified every ${PUBLISH_EVERY} records, ` +
          `tail stored per batch of ≤1024, Atomics.wait 1 ms only when it must; worker -> worker`,
        busyThreads: 2,
        guessRate: o.guessRate,
        details: { api: 'SharedArrayBuffer + Atomics (bench/plain-sab.ts)', publishEvery: PUBLISH_EVERY, capacity: ctx.capacity },
        spec,
        consumers: [consumer],
        producers: [producer],
      });
    },
  };
}
