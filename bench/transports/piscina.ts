// piscina: the main thread submits one task per event to a pool of as many threads as the
// scenario has consumers; each task checks its event and returns its hash.
import { Piscina } from 'piscina';
import { BenchFailure } from '../harness.js';
import type { FlowSpec, RunContext, RunResult, Session, TransportUse } from '../flow.js';
import { expectedChecksum, PAYLOAD_BYTES, RawWriter, tick } from '../payload.js';
import type { PiscinaTask } from '../workers/piscina-task.js';

export function piscina(o: { guessRate: number }): TransportUse {
  return {
    transport: 'piscina',
    fits: (spec) => spec.shape.producers === 1,
    async open(spec: FlowSpec, ctx: RunContext): Promise<Session> {
      const threads = spec.shape.consumers;
      const pool = new Piscina({
        filename: new URL('../workers/piscina-task.js', import.meta.url).href,
        minThreads: threads,
        maxThreads: threads,
        idleTimeout: 60_000,
      });
      const bytes = PAYLOAD_BYTES[spec.payload];
      const writer = bytes > 0 ? new RawWriter(bytes) : undefined;
      const label = `${spec.scenario} piscina`;
      // a run of one task starts the threads before the first measured run
      await pool.run({ run: -1, kind: spec.payload, event: spec.payload === 'msgpack' ? tick(0) : eventAt(0) } satisfies PiscinaTask);
      function eventAt(seq: number): Uint8Array {
        const u8 = new Uint8Array(bytes);
        writer!.write(u8, new Int32Array(u8.buffer), 0, seq);
        return u8;
      }
      let runId = 0;
      const teardown = () => pool.destroy();
      return {
        transport: 'piscina',
        how: `pool.run() per event from the main thread, ${threads} pool thread${threads > 1 ? 's' : ''}`,
        busyThreads: 1 + threads,
        guessRate: o.guessRate,
        unit: 1024,
        details: { api: 'Piscina.run', threads, piscina: Piscina.version },
        async run(n: number): Promise<RunResult> {
          const want = expectedChecksum(spec.payload, n);
          const run = runId++;
          const t0 = process.hrtime.bigint();
          const results: Promise<number>[] = new Array(n);
          for (let seq = 0; seq < n; seq++) {
            let event: unknown = spec.payload === 'msgpack' ? tick(seq) : eventAt(seq);
            if (ctx.fault === 'corrupt' && seq === n >> 1) event = spec.payload === 'msgpack' ? { ...tick(seq), payload: 'X' } : eventAt(seq + 1);
            results[seq] = pool.run({ run, kind: spec.payload, event } satisfies PiscinaTask);
          }
          const tp = process.hrtime.bigint();
          let sum = 0;
          let timer: NodeJS.Timeout | undefined;
          const deadline = new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new BenchFailure(`${label}: tasks unfinished after ${ctx.stallMs * 6} ms`)), ctx.stallMs * 6);
          });
          try {
            for (const h of await Promise.race([Promise.all(results), deadline])) sum = (sum + h) | 0;
          } catch (err) {
            throw err instanceof BenchFailure ? err : new BenchFailure(`${label}: a task failed: ${(err as Error).message}`);
          } finally {
            clearTimeout(timer);
          }
          const t1 = process.hrtime.bigint();
          if (sum !== want) throw new BenchFailure(`${label}: corrupt events: checksum ${sum >>> 0}, ${want >>> 0} expected`);
          const seconds = Number(t1 - t0) / 1e9;
          return { events: n, seconds, producerShare: Number(tp - t0) / 1e9 / seconds };
        },
        finish: teardown,
        abort: teardown,
      };
    },
  };
}
