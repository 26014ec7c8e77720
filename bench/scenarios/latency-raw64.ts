// latency-raw64: one-way latency of 64-byte events at a fixed offered rate (20,000/s), and
// ping-pong round trips, over the ring and postMessage. Every sample goes into an HDR
// histogram (hdr-histogram-js, 3 significant digits); the rows give p50, p99, p99.9 and max
// over all measured runs together. Row `ring` (and ring-pingpong) passes no wait strategy:
// it measures the library's default, whatever that is (wait-default.ts names it); one row
// per named strategy (ring-spin, ring-yield, ring-block) follows, the default's among them.
// ring-spin: the sender's pacing spin plus the reader's: two busy threads, as many as the
// cores here.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { createBus } from 'ringbus';
import { target, type Target, type WaitName } from '../flow.js';
import { BenchFailure, type Endpoint, Inbox, WorkerHost, workerUrl } from '../harness.js';
import type { Row, Scenario, ScenarioContext, ScenarioResult } from '../scenario.js';
import { defaultWaitName, STRATEGIES } from '../wait-default.js';
import type { LatencyData, LatencyDone, LatencyRole, LatencyRun } from '../workers/latency.js';

const NAME = 'latency-raw64';
const RATE = 20_000;
/** Our goals for the default wait strategy, one way at RATE. */
export const GOAL_P50_US = 5;
export const GOAL_P99_US = 50;

interface LatencyFlow {
  transport: string;
  how: string;
  pingpong: boolean;
  open(ctx: ScenarioContext): Promise<{ receiver: Endpoint; sender: Endpoint; all: Endpoint[] }>;
}

function worker(label: string, role: LatencyRole, d: Omit<LatencyData, 'role'>, transfer: MessagePort[] = []): WorkerHost {
  return new WorkerHost(`${NAME} ${label} ${role}`, workerUrl('latency'), { ...d, role } satisfies LatencyData, transfer);
}

async function started(all: Endpoint[]): Promise<void> {
  try {
    for (const e of all) await e.next('attached');
  } catch (err) {
    await Promise.all(all.map((e) => e.terminate()));
    throw err;
  }
}

/** wait undefined: the library's default strategy (named `defaultName`). */
function ringFlow(transport: string, wait: WaitName | undefined, pingpong: boolean, defaultName: string): LatencyFlow {
  const named = wait === undefined ? `the default wait (${defaultName})` : `wait ${wait}`;
  return {
    transport,
    pingpong,
    how: pingpong
      ? `claim+commit per event, pollRaw, ${named}; worker <-> worker, round trip`
      : `claim+commit per event at ${RATE / 1000}k/s, pollRaw, reader ${named}; worker -> worker, one way`,
    async open(ctx) {
      const bus = createBus({ capacity: 1 << 20, topics: ['ping', 'pong'], codec: 'raw' });
      const d = { handle: bus.handle, ...(wait !== undefined && { wait }), stallMs: ctx.stallMs };
      // receivers first: their readers gate before anything is published
      const receiver = worker(transport, pingpong ? 'ring-pong' : 'ring-recv', d);
      await started([receiver]);
      const sender = worker(transport, pingpong ? 'ring-ping' : 'ring-send', d);
      await started([sender]);
      return pingpong ? { receiver: sender, sender: receiver, all: [receiver, sender] } : { receiver, sender, all: [receiver, sender] };
    },
  };
}

/** The main thread as a one-way receiver: records now − send time per message. */
class MainReceiver extends Inbox implements Endpoint {
  private samples = new Float64Array(0);
  private seen = 0;
  private t0 = 0;
  constructor(private readonly port: MessagePort) {
    super(`${NAME} postMessage main thread`);
    port.on('message', (m: Uint8Array) => {
      const t = Number(process.hrtime.bigint());
      const v = new DataView(m.buffer, m.byteOffset, 64);
      const seq = v.getUint32(0, true);
      if (seq !== this.seen || v.getInt32(60, true) !== ~seq) {
        this.receive({ type: 'failed', message: `expected event ${this.seen}, got ${seq}` });
        return;
      }
      this.samples[this.seen++] = t - v.getFloat64(8, true);
      if (this.seen === this.samples.length) this.receive({ type: 'done', samples: this.samples, seconds: (t - this.t0) / 1e9 } as LatencyDone);
    });
  }
  post(msg: LatencyRun): void {
    this.samples = new Float64Array(msg.n);
    this.seen = 0;
    this.t0 = Number(process.hrtime.bigint());
  }
  async terminate(): Promise<void> {
    this.port.close();
  }
}

function portFlow(pingpong: boolean): LatencyFlow {
  return {
    transport: pingpong ? 'postMessage-pingpong' : 'postMessage',
    pingpong,
    how: pingpong
      ? 'MessagePort.postMessage, worker <-> worker (MessageChannel), round trip'
      : `MessagePort.postMessage at ${RATE / 1000}k/s, worker -> the main thread, one way`,
    async open(ctx) {
      const { port1, port2 } = new MessageChannel();
      const d = { wait: 'block' as const, stallMs: ctx.stallMs };
      if (pingpong) {
        const pong = worker('postMessage', 'port-pong', { ...d, port: port2 }, [port2]);
        const ping = worker('postMessage', 'port-ping', { ...d, port: port1 }, [port1]);
        await started([pong, ping]);
        return { receiver: ping, sender: pong, all: [ping, pong] };
      }
      const receiver = new MainReceiver(port2);
      const sender = worker('postMessage', 'port-send', { ...d, port: port1 }, [port1]);
      await started([sender]);
      return { receiver, sender, all: [receiver, sender] };
    },
  };
}

const flows = (defaultName = ''): LatencyFlow[] => [
  ringFlow('ring', undefined, false, defaultName),
  ...STRATEGIES.map((w) => ringFlow(`ring-${w}`, w, false, defaultName)),
  portFlow(false),
  ringFlow('ring-pingpong', undefined, true, defaultName),
  portFlow(true),
];

function counts(ctx: Pick<ScenarioContext, 'quick'>) {
  return { oneWay: ctx.quick ? 5_000 : 20_000, pingpong: ctx.quick ? 2_000 : 10_000 };
}

const scenario: Scenario = {
  name: NAME,
  title: `latency of 64-byte events: one way at ${RATE.toLocaleString('en')}/s, and ping-pong round trips`,
  kind: 'latency',
  steps: (ctx) => flows().filter((f) => !ctx.transports || ctx.transports.includes(f.transport)).length * (ctx.plan.warmups + Math.min(ctx.plan.runs, 3)),
  async run(ctx): Promise<ScenarioResult> {
    const rows: Row[] = [];
    const { oneWay, pingpong } = counts(ctx);
    const runs = Math.min(ctx.plan.runs, 3);
    const defaultName = await defaultWaitName();
    for (const flow of flows(defaultName).filter((f) => !ctx.transports || ctx.transports.includes(f.transport))) {
      const { receiver, sender, all } = await flow.open(ctx);
      const histogram = hdr.build({ numberOfSignificantValueDigits: 3 });
      const rates: number[] = [];
      try {
        for (let r = 0; r < ctx.plan.warmups + runs; r++) {
          const n = flow.pingpong ? pingpong : oneWay;
          const cmd: LatencyRun = { type: 'run', n, rate: RATE };
          const got = receiver.next<LatencyDone>('done', ctx.stallMs * 6);
          receiver.post(cmd);
          const sent = flow.pingpong ? undefined : sender.next<LatencyDone>('done', ctx.stallMs * 6);
          sender.post(cmd);
          const [done] = await Promise.all([got, sent]);
          if (done.samples.length !== n) throw new BenchFailure(`${NAME} ${flow.transport}: ${done.samples.length} of ${n} samples`);
          const warm = r < ctx.plan.warmups;
          if (!warm) {
            for (const ns of done.samples) histogram.recordValue(Math.max(1, Math.round(ns)));
            rates.push(n / done.seconds);
          }
          ctx.tick(`${NAME} ${flow.transport}`, `${warm ? 'warm-up' : 'run'}: ${(n / done.seconds).toFixed(0)}/s`);
        }
      } finally {
        await Promise.all(all.map((e) => e.terminate()));
      }
      const at = (p: number) => Math.round(histogram.getValueAtPercentile(p) / 10) / 100;
      rows.push({
        transport: flow.transport,
        how: flow.how,
        eventsPerSec: rates.slice().sort((a, b) => a - b)[rates.length >> 1],
        min: Math.min(...rates),
        max: Math.max(...rates),
        runs: rates,
        p50us: at(50),
        p90us: at(90),
        p99us: at(99),
        p999us: at(99.9),
        maxus: Math.round(histogram.maxValue / 10) / 100,
        busyThreads: flow.transport === 'ring-spin' || (flow.transport === 'ring' && defaultName === 'spin') ? 2 : 1,
        extra: {
          measure: flow.pingpong ? 'round trip' : 'one way',
          samples: histogram.totalCount,
          offeredRate: flow.pingpong ? null : RATE,
          meanus: Math.round(histogram.mean / 10) / 100,
          ...(flow.transport.startsWith('ring') && {
            wait: flow.transport === 'ring' || flow.transport === 'ring-pingpong' ? defaultName : flow.transport.slice(5),
            defaultWait: defaultName,
          }),
        },
      });
    }
    const ring = rows.find((r) => r.transport === 'ring');
    const targets: Target[] = ring
      ? [
          target(`${NAME}: ring (default wait) one-way p50 < ${GOAL_P50_US} µs`, ring.p50us!, GOAL_P50_US, 'µs', 'lower'),
          target(`${NAME}: ring (default wait) one-way p99 < ${GOAL_P99_US} µs`, ring.p99us!, GOAL_P99_US, 'µs', 'lower'),
        ]
      : [];
    return {
      name: NAME,
      title: scenario.title,
      kind: 'latency',
      rows,
      targets,
      notes: [
        `one-way rows: the latency of each event from its publish to its consumer; pingpong rows: the whole round trip. rate/s: the rate achieved (one way) or round trips per second`,
        `ring and ring-pingpong use the library's default wait strategy (now '${defaultName}')` +
          ((STRATEGIES as readonly string[]).includes(defaultName)
            ? `, so ring-${defaultName} measures the same thing again: the difference between the two is this run's noise`
            : ''),
        `ring-spin: the sender's pacing spin and the reader's spin are two busy threads; on a 2-core machine any other process preempts one of them, and its tail is then the scheduler's time slice`,
      ],
    };
  },
};

export default scenario;
