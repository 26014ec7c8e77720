// The ring: one bus per session; producer workers publish, consumer workers read (gating
// readers for 'all' delivery, members of one group for 'share').
import { createBus } from 'ringbus';
import { BenchFailure, type Endpoint, WorkerHost, workerUrl } from '../harness.js';
import type { FlowSpec, RunContext, Session, TransportUse } from '../flow.js';
import type { ConsumerData, ProducerData } from '../workers/protocol.js';
import { threadsSession } from './threads.js';

export interface RingOptions {
  /** JSON transport name: 'ring' for a scenario's main figure, 'ring-<variant>' for others. */
  transport?: string;
  /** claim: `count` records per claim written in place; batch: publishBatch of `count`; publish: one per event. */
  mode: 'claim' | 'batch' | 'publish';
  count: number;
  /** pollRaw (zero copy, raw payloads) or poll. */
  api: 'poll' | 'pollRaw';
  pollMax: number;
  guessRate: number;
  /** 'share' delivery through a keyed group, event i published with key i % keys (batch mode). */
  keys?: number;
}

const API = { claim: (c: number) => `claim x${c} in place`, batch: (c: number) => `publishBatch x${c}`, publish: () => 'publish per event' };

export function ring(o: RingOptions): TransportUse {
  const transport = o.transport ?? 'ring';
  return {
    transport,
    async open(spec: FlowSpec, ctx: RunContext): Promise<Session> {
      const { producers: P, consumers: C, delivery } = spec.shape;
      const busy = P + C;
      // Spinning threads beyond the cores starve each other: block or yield then.
      const wait = busy > ctx.cores && ctx.wait === 'spin' ? 'yield' : ctx.wait;
      const bus = createBus({ capacity: ctx.capacity, topics: ['t'], codec: spec.payload === 'msgpack' ? 'structured' : 'raw' });
      const group = delivery === 'share';
      const shared = group ? new SharedArrayBuffer(4) : undefined;
      const counter = shared ? new Int32Array(shared) : undefined;
      const consumers: Endpoint[] = [];
      const producers: Endpoint[] = [];
      const label = `${spec.scenario} ${transport}`;
      const names: string[] = [];
      try {
        for (let c = 0; c < C; c++) {
          const name = group ? `member${c}` : `reader${c}`;
          names.push(name);
          const d: ConsumerData = {
            transport: 'ring',
            kind: spec.payload,
            stallMs: ctx.stallMs,
            producers: P,
            strict: !group,
            handle: bus.handle,
            wait,
            api: o.api,
            pollMax: o.pollMax,
            name,
            ...(group && { group: 'g', shared, keyed: o.keys !== undefined }),
          };
          const host = new WorkerHost(`${label} consumer ${c}`, workerUrl('reader'), d);
          consumers.push(host);
          await host.next('attached'); // gating before anything is published
        }
        for (let p = 0; p < P; p++) {
          const d: ProducerData = {
            transport: 'ring',
            kind: spec.payload,
            stallMs: ctx.stallMs,
            p,
            P,
            fault: ctx.fault,
            handle: bus.handle,
            wait,
            mode: o.mode,
            count: o.count,
            keys: o.keys,
          };
          const host = new WorkerHost(`${label} producer ${p}`, workerUrl('producer'), d);
          producers.push(host);
          await host.next('attached');
        }
      } catch (err) {
        await Promise.all([...consumers, ...producers].map((e) => e.terminate()));
        throw err;
      }
      const read = o.api === 'pollRaw' ? `pollRaw ≤${o.pollMax}` : `poll ≤${o.pollMax}`;
      const who = `${P > 1 ? `${P} producers` : 'producer'} -> ${group ? `${o.keys !== undefined ? `keyed group (${o.keys} keys)` : 'group'} of ${C}` : C > 1 ? `${C} gating readers` : 'reader'}`;
      return threadsSession({
        transport,
        how: `${API[o.mode](o.count)}, ${read}, wait ${wait}; ${who} (workers)`,
        busyThreads: busy,
        guessRate: o.guessRate,
        details: { api: `${o.mode}+${o.api}`, mode: o.mode, batch: o.count, pollMax: o.pollMax, wait, capacity: ctx.capacity },
        spec,
        consumers,
        producers,
        beforeRun: () => counter && Atomics.store(counter, 0, 0),
        counters: () => {
          const stats = bus.stats();
          const readerWaitMs = stats.readers.filter((r) => names.includes(r.name)).reduce((a, r) => a + r.waitMs, 0);
          return { readerWaitMs, producerWaitMs: stats.producerWaitMs };
        },
        async finalCheck(runs, sent) {
          bus.close();
          for (const c of consumers) c.post({ type: 'close' });
          await Promise.all(consumers.map((c) => c.next('done')));
          const stats = bus.stats();
          if (stats.published !== sent || stats.revoked !== 0) {
            throw new BenchFailure(
              `${label}: the bus counted ${stats.published} events published and ${stats.revoked} revoked after ${runs} runs, expected ${sent} and 0`,
            );
          }
        },
      });
    },
  };
}
