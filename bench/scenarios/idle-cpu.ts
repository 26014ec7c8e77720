// idle-cpu: what waiting costs when there is nothing to do. Per wait strategy, a reader
// worker waits on a bus nobody publishes to, while a producer worker is blocked on a full
// ring (its gating reader, in the main thread, never reads), both for the same 2 s (quick
// 1 s). Each thread reads its own CPU time (/proc/thread-self/schedstat) before and after;
// cpuPct is the two together, in percent of one core. Row `default` passes no wait option:
// it measures the library's default strategy, whatever that is (wait-default.ts names it);
// one row per named strategy follows, the default's among them.
import { createBus } from 'ringbus';
import { target, type WaitName } from '../flow.js';
import { BenchFailure, WorkerHost, workerUrl } from '../harness.js';
import type { Row, Scenario, ScenarioResult } from '../scenario.js';
import { round } from '../scenario.js';
import { defaultWaitName, STRATEGIES } from '../wait-default.js';
import type { IdleData, IdleDone, IdleGo } from '../workers/idle.js';

const NAME = 'idle-cpu';
/** Our goal: the default strategy idles at under 1% of a core (both threads together). */
export const GOAL_CPU_PCT = 1;

const rowsOf = (): { transport: string; wait: WaitName | undefined }[] => [
  { transport: 'default', wait: undefined },
  ...STRATEGIES.map((w) => ({ transport: w, wait: w })),
];

async function measure(wait: WaitName | undefined, ms: number, stallMs: number): Promise<{ reader: IdleDone; producer: IdleDone }> {
  const quiet = createBus({ capacity: 1 << 16, topics: ['t'], codec: 'raw' });
  const full = createBus({ capacity: 1 << 16, topics: ['t'], codec: 'raw' });
  const gate = full.reader('never-reads');
  const d = (role: IdleData['role'], handle: IdleData['handle']): IdleData => ({ role, handle, ...(wait !== undefined && { wait }) });
  const reader = new WorkerHost(`${NAME} ${wait ?? 'default'} reader`, workerUrl('idle'), d('reader', quiet.handle));
  const producer = new WorkerHost(`${NAME} ${wait ?? 'default'} producer`, workerUrl('idle'), d('producer', full.handle));
  try {
    await Promise.all([reader.next('attached'), producer.next('attached')]);
    const done = Promise.all([reader.next<IdleDone>('done', ms + stallMs), producer.next<IdleDone>('done', ms + stallMs)]);
    const go: IdleGo = { type: 'go', ms };
    reader.post(go);
    producer.post(go);
    const [r, p] = await done;
    const stats = full.stats();
    if (stats.readers.find((x) => x.name === 'never-reads')?.consumed !== 0) throw new BenchFailure(`${NAME}: the reader that never reads consumed events`);
    return { reader: r, producer: p };
  } finally {
    gate.close();
    await Promise.all([reader.terminate(), producer.terminate()]);
    quiet.close();
    full.close();
  }
}

const pct = (d: IdleDone) => (d.cpuNs / d.wallNs) * 100;

const scenario: Scenario = {
  name: NAME,
  title: 'CPU of a reader waiting on an empty bus and a producer blocked on a full ring, per wait strategy',
  kind: 'cpu',
  steps: (ctx) => rowsOf().filter((r) => !ctx.transports || ctx.transports.includes(r.transport)).length,
  async run(ctx): Promise<ScenarioResult> {
    const ms = ctx.quick ? 1000 : 2000;
    const defaultName = await defaultWaitName();
    const rows: Row[] = [];
    for (const { transport, wait } of rowsOf().filter((r) => !ctx.transports || ctx.transports.includes(r.transport))) {
      const { reader, producer } = await measure(wait, ms, ctx.stallMs);
      const cpuPct = pct(reader) + pct(producer);
      ctx.tick(`${NAME} ${transport}`, `reader ${pct(reader).toFixed(2)}%, producer ${pct(producer).toFixed(2)}% of a core`);
      const name = wait ?? defaultName;
      rows.push({
        transport,
        how: `${wait === undefined ? `no wait option: the library's default ('${defaultName}')` : `wait '${wait}'`}; reader.wait(${ms}) on an empty bus + publish into a full ring with timeoutMs ${ms} (workers)`,
        eventsPerSec: 0,
        min: 0,
        max: 0,
        runs: [],
        result: `${cpuPct.toFixed(2)}% (reader ${pct(reader).toFixed(2)}%, producer ${pct(producer).toFixed(2)}%)`,
        extra: {
          cpuPct: round(cpuPct, 3),
          readerCpuPct: round(pct(reader), 3),
          producerCpuPct: round(pct(producer), 3),
          wait: name,
          idleMs: ms,
          cpuSource:
            reader.source === 'thread' && producer.source === 'thread'
              ? '/proc/thread-self/schedstat'
              : 'process.cpuUsage() (the whole process: an upper bound)',
        },
      });
    }
    const def = rows.find((r) => r.transport === 'default');
    return {
      name: NAME,
      title: scenario.title,
      kind: 'cpu',
      rows,
      targets: def
        ? [
            target(
              `${NAME}: default wait (${defaultName}), reader + producer idle < ${GOAL_CPU_PCT}% of a core`,
              def.extra!.cpuPct as number,
              GOAL_CPU_PCT,
              '%',
              'lower',
            ),
          ]
        : [],
      notes: [
        `cpu: the CPU time of the two threads together over the ${ms / 1000} s they waited, in percent of one core (200% = two busy cores); ` +
          `each thread reads its own (/proc/thread-self/schedstat) before and after`,
      ],
    };
  },
};

export default scenario;
