// Single-thread references (eventEmitter, arrayQueue): producer and consumer in one worker.
import { BenchFailure, WorkerHost, workerUrl } from '../harness.js';
import type { FlowSpec, RunContext, RunResult, Session, TransportUse } from '../flow.js';
import { expectedChecksum } from '../payload.js';
import type { SoloData, SoloDone } from '../workers/solo.js';

export function solo(transport: 'eventEmitter' | 'arrayQueue', o: { guessRate: number }): TransportUse {
  return {
    transport,
    fits: (spec) => spec.shape.producers === 1 && spec.shape.consumers === 1,
    async open(spec: FlowSpec, ctx: RunContext): Promise<Session> {
      const label = `${spec.scenario} ${transport}`;
      const d: SoloData = { transport, kind: spec.payload, fault: ctx.fault };
      const host = new WorkerHost(label, workerUrl('solo'), d);
      try {
        await host.next('attached');
      } catch (err) {
        await host.terminate();
        throw err;
      }
      const teardown = () => host.terminate();
      return {
        transport,
        how:
          transport === 'eventEmitter' ? 'emit() to one listener, one thread (reference)' : 'array push, then shift() 1024 at a time, one thread (reference)',
        busyThreads: 1,
        guessRate: o.guessRate,
        unit: 1024,
        details: { api: transport === 'eventEmitter' ? 'EventEmitter.emit' : 'Array push/shift', threads: 1 },
        async run(n: number): Promise<RunResult> {
          host.post({ type: 'run', n });
          const r = await host.next<SoloDone>('done');
          const want = expectedChecksum(spec.payload, n);
          if (r.count !== n) throw new BenchFailure(`${label}: ${r.count} of ${n} events consumed`);
          if (r.checksum !== want) throw new BenchFailure(`${label}: corrupt events: checksum ${r.checksum >>> 0}, ${want >>> 0} expected`);
          return { events: n, seconds: Number(r.t1 - r.t0) / 1e9 };
        },
        finish: teardown,
        abort: teardown,
      };
    },
  };
}
