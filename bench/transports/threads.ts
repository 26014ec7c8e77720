// A session whose producers and consumers are endpoints (worker threads, or a consumer in
// the main thread) that speak the bench protocol (workers/protocol.ts): consumers are told
// how many events to expect and answer 'ready'; then producers are told to publish theirs;
// each answers 'done' with its timestamps, and each consumer with its count and checksum.
import { BenchFailure, type Endpoint, WorkerHost, workerUrl } from '../harness.js';
import type { FlowSpec, RunResult, Session } from '../flow.js';
import { expectedChecksum } from '../payload.js';
import type { ConsumerData, ConsumerDone, ProducerData, ProducerDone } from '../workers/protocol.js';

export interface ThreadsSessionOptions {
  transport: string;
  how: string;
  busyThreads: number;
  guessRate: number;
  details: Record<string, unknown>;
  spec: FlowSpec;
  consumers: Endpoint[];
  producers: Endpoint[];
  /** Events consumer `c` gets of a run of n; undefined: a group, which stops when all n are consumed. */
  shareOf?: (c: number, n: number) => number;
  /** Before each run (reset a shared counter). */
  beforeRun?: (n: number) => void;
  /** Ring: cumulative wait counters, read before and after each run. */
  counters?: () => { readerWaitMs: number; producerWaitMs: number };
  /** The checks after the last run (the threads still run); teardown follows anyway. */
  finalCheck?: (runs: number, eventsSent: number) => Promise<void>;
}

export function threadsSession(o: ThreadsSessionOptions): Session {
  const { spec, consumers, producers } = o;
  const P = spec.shape.producers;
  const all = spec.shape.delivery === 'all';
  let runs = 0;
  let sent = 0;
  const teardown = async () => {
    await Promise.all([...consumers, ...producers].map((e) => e.terminate()));
  };
  return {
    transport: o.transport,
    how: o.how,
    busyThreads: o.busyThreads,
    guessRate: o.guessRate,
    unit: 1024,
    details: o.details,
    async run(n: number): Promise<RunResult> {
      if (n % P !== 0) throw new Error(`${n} events do not split among ${P} producers`);
      const want = expectedChecksum(spec.payload, n);
      o.beforeRun?.(n);
      const before = o.counters?.();
      consumers.forEach((c, i) => c.post({ type: 'run', n: o.shareOf ? o.shareOf(i, n) : n }));
      await Promise.all(consumers.map((c) => c.next('ready')));
      const consumed = Promise.all(consumers.map((c) => c.next<ConsumerDone>('done')));
      producers.forEach((p) => p.post({ type: 'run', n: n / P }));
      const [rs, ps] = await Promise.all([consumed, Promise.all(producers.map((p) => p.next<ProducerDone>('done')))]);
      sent += n;
      runs++;
      const label = `${spec.scenario} over ${o.transport}`;
      if (all) {
        rs.forEach((r, i) => {
          if (r.count !== n) throw new BenchFailure(`${label}: consumer ${i} saw ${r.count} of ${n} events`);
          if (r.checksum !== want) throw new BenchFailure(`${label}: consumer ${i}: corrupt events: checksum ${r.checksum >>> 0}, ${want >>> 0} expected`);
        });
      } else {
        const count = rs.reduce((a, r) => a + r.count, 0);
        const sum = rs.reduce((a, r) => (a + r.checksum) | 0, 0);
        if (count !== n) throw new BenchFailure(`${label}: the consumers saw ${count} events (${rs.map((r) => r.count).join(' + ')}), ${n} were sent`);
        if (sum !== want)
          throw new BenchFailure(`${label}: lost, duplicated or corrupt events: checksum ${sum >>> 0} over all consumers, ${want >>> 0} expected`);
      }
      const t0 = ps.reduce((a, p) => (p.t0 < a ? p.t0 : a), ps[0].t0);
      const tp = ps.reduce((a, p) => (p.t1 > a ? p.t1 : a), ps[0].t1);
      const t1 = rs.reduce((a, r) => (r.t1 > a ? r.t1 : a), rs[0].t1);
      const seconds = Number(t1 - t0) / 1e9;
      if (!(seconds > 0)) throw new BenchFailure(`${label}: nonsensical timing (${seconds} s)`);
      const after = o.counters?.();
      return {
        events: n,
        seconds,
        producerShare: Number(tp - t0) / 1e9 / seconds,
        ...(before && after && { readerWaitMs: after.readerWaitMs - before.readerWaitMs, producerWaitMs: after.producerWaitMs - before.producerWaitMs }),
      };
    },
    async finish() {
      try {
        await o.finalCheck?.(runs, sent);
      } finally {
        await teardown();
      }
    },
    abort: teardown,
  };
}

/**
 * Starts a consumer worker, then a producer worker, over one SharedArrayBuffer (the plain-JS
 * floor, ringbuf.js): each waits until the other side's worker has attached. Returns
 * [consumer, producer]; on failure, terminates what it started.
 */
export async function openSabPair(
  label: string,
  transport: 'plainSab' | 'ringbufjs',
  sab: SharedArrayBuffer,
  spec: FlowSpec,
  ctx: { stallMs: number; fault: ProducerData['fault'] },
): Promise<[Endpoint, Endpoint]> {
  const endpoints: Endpoint[] = [];
  try {
    const c = { transport, kind: spec.payload, stallMs: ctx.stallMs, producers: 1, strict: true, sab } as ConsumerData;
    endpoints.push(new WorkerHost(`${label} consumer`, workerUrl('reader'), c));
    await endpoints[0].next('attached');
    const p = { transport, kind: spec.payload, stallMs: ctx.stallMs, p: 0, P: 1, fault: ctx.fault, sab } as ProducerData;
    endpoints.push(new WorkerHost(`${label} producer`, workerUrl('producer'), p));
    await endpoints[1].next('attached');
  } catch (err) {
    await Promise.all(endpoints.map((e) => e.terminate()));
    throw err;
  }
  return [endpoints[0], endpoints[1]];
}
