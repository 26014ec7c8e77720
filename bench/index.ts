// npm run bench [-- --json FILE] [--quick] [--runs N] [--wait block|yield|spin] [--batch N]
//                 [--ring-events N] [--claim-events N] [--pm-events N] [--only ring|postMessage]
//                 [--fault lose|reorder|corrupt]
//
// Moves 64-byte raw events from a producer worker to a reader worker over the ring and
// over postMessage, checks every event, and prints events/s for each and their ratio.
// Any lost, reordered or corrupt event ends the run with exit code 1 and no figures.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { BenchFailure, formatRate, formatTable, LoadMeter, machineInfo, type RunPlan } from './harness.js';
import type { Fault } from './payload.js';
import { type Measurement, NAME, type RingSettings, runPostMessage, runRing, type WaitName } from './scenarios/unicast-raw64.js';

/** The goals: what a minimal plain-JS SharedArrayBuffer ring does on the reference machine. */
const GOAL_RATIO = 60;
const GOAL_RING_EVENTS_PER_SEC = 12.9e6;

const USAGE = `usage: npm run bench -- [options]
  --json FILE         also write the results as JSON to FILE
  --quick             fewer events and runs (a smoke test, not a measurement)
  --runs N            measured runs per transport after the warm-up (default 5; --quick 3)
  --wait S            wait strategy of the ring workers: block (default), yield or spin
  --batch N           events per publishBatch() (default 64)
  --ring-events N     events per batched ring run (default 16000000; --quick 2000000)
  --claim-events N    events per claim-per-event ring run (default 2000000; --quick 500000)
  --pm-events N       events per postMessage run (default 500000; --quick 100000)
  --only T            run one transport: ring or postMessage (no ratio then)
  --fault F           make the producer lose, reorder or corrupt one event (checks the checks)
  --help`;

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(n) || n < 1) usage(`--${name} needs a positive integer, got "${value}"`);
  return n;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) usage(`--${name} must be one of ${allowed.join(', ')}; got "${value}"`);
  return value as T;
}

function usage(problem?: string): never {
  if (problem) console.error(`bench: ${problem}\n`);
  console.error(USAGE);
  process.exit(problem ? 2 : 0);
}

function parse() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        json: { type: 'string' },
        quick: { type: 'boolean', default: false },
        runs: { type: 'string' },
        wait: { type: 'string' },
        batch: { type: 'string' },
        'ring-events': { type: 'string' },
        'claim-events': { type: 'string' },
        'pm-events': { type: 'string' },
        fault: { type: 'string' },
        only: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  if (values.help) usage();
  const quick = values.quick;
  return {
    json: values.json,
    quick,
    plan: { warmups: 1, runs: positiveInt('runs', values.runs, quick ? 3 : 5) } satisfies RunPlan,
    wait: oneOf<WaitName>('wait', values.wait, ['block', 'yield', 'spin'], 'block'),
    batch: positiveInt('batch', values.batch, 64),
    ringEvents: positiveInt('ring-events', values['ring-events'], quick ? 2_000_000 : 16_000_000),
    claimEvents: positiveInt('claim-events', values['claim-events'], quick ? 500_000 : 2_000_000),
    pmEvents: positiveInt('pm-events', values['pm-events'], quick ? 100_000 : 500_000),
    fault: oneOf<Fault>('fault', values.fault, ['none', 'lose', 'reorder', 'corrupt'], 'none'),
    only: oneOf<'all' | 'ring' | 'postMessage'>('only', values.only, ['ring', 'postMessage'], 'all'),
  };
}

const range = (m: Measurement) => `${formatRate(m.min)}–${formatRate(m.max)}`;
const pick = (m: Measurement) => ({
  eventsPerSec: m.eventsPerSec,
  runs: m.runs,
  min: m.min,
  max: m.max,
  seconds: m.seconds,
  eventsPerRun: m.eventsPerRun,
  producerShare: m.producerShare,
  ...(m.readerWaitMs !== undefined && { readerWaitMs: m.readerWaitMs, producerWaitMs: m.producerWaitMs }),
});

async function main(): Promise<void> {
  const args = parse();
  const machine = machineInfo();
  const log = (line: string) => console.error(line);
  console.log(`ringbus bench: ${NAME}, 64-byte raw events, producer worker -> reader worker`);
  console.log(`${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node} ${machine.platform}/${machine.arch}`);
  console.log(`${args.plan.warmups} warm-up + ${args.plan.runs} measured runs per transport${args.quick ? ' (--quick: a smoke test)' : ''}\n`);
  const common = { plan: args.plan, fault: args.fault, stallMs: 10_000, log };
  const ringBase: Omit<RingSettings, 'mode'> = { batch: args.batch, wait: args.wait, pollMax: 1024, capacity: 1 << 20 };
  const doRing = args.only !== 'postMessage';
  const doPm = args.only !== 'ring';
  const load = new LoadMeter();

  // Everything is measured (and checked) before anything is printed: a failure reports no figure.
  const batched = doRing ? await runRing({ ...ringBase, mode: 'batch' }, { ...common, events: args.ringEvents }) : undefined;
  const perEvent = doRing ? await runRing({ ...ringBase, mode: 'claim' }, { ...common, events: args.claimEvents }) : undefined;
  const pm = doPm ? await runPostMessage({ ...common, events: args.pmEvents }) : undefined;

  const otherCores = load.otherCores();
  const rows: string[][] = [];
  const row = (transport: string, how: string, events: number, m: Measurement) =>
    rows.push([transport, how, String(events), formatRate(m.eventsPerSec), range(m), m.runs.map(formatRate).join(' ')]);
  if (batched && perEvent) {
    row('ring', `publishBatch x${args.batch}, wait ${args.wait}`, args.ringEvents, batched);
    row('ring', `claim+commit per event, wait ${args.wait}`, args.claimEvents, perEvent);
  }
  if (pm) row('postMessage', 'one message per event', args.pmEvents, pm);
  console.log('\n' + formatTable(['transport', 'how', 'events/run', 'events/s (median)', 'min–max', 'runs'], rows));

  // The ring figure is the faster way of publishing; both are in the JSON.
  const ring = batched && perEvent ? (batched.eventsPerSec >= perEvent.eventsPerSec ? { m: batched, mode: 'publishBatch' } : { m: perEvent, mode: 'claim' }) : undefined;
  const ratio = ring && pm ? ring.m.eventsPerSec / pm.eventsPerSec : undefined;
  console.log('');
  if (ring && pm && ratio !== undefined) {
    console.log(`ring (${ring.mode}) / postMessage: ${ratio.toFixed(1)}x   (goal >= ${GOAL_RATIO}x: ${ratio >= GOAL_RATIO ? 'met' : 'NOT met'})`);
  }
  if (ring) {
    const met = ring.m.eventsPerSec >= GOAL_RING_EVENTS_PER_SEC;
    console.log(`ring (${ring.mode}): ${formatRate(ring.m.eventsPerSec)} events/s   (goal >= ${formatRate(GOAL_RING_EVENTS_PER_SEC)}: ${met ? 'met' : 'NOT met'})`);
  }
  console.log('every event was checked on the reader side: count, sequence order, tail guard, checksum of all bytes');
  if (otherCores > 0.25) {
    console.log(`warning: other processes kept ${otherCores.toFixed(1)} of ${machine.cores} cores busy meanwhile; these figures are low and noisy, run again on a quiet machine`);
  }

  if (args.json) {
    const scenarios: object[] = [];
    if (ring && batched && perEvent) {
      scenarios.push({
        name: NAME,
        transport: 'ring',
        ...pick(ring.m),
        mode: ring.mode,
        wait: args.wait,
        batch: ring.mode === 'publishBatch' ? args.batch : 1,
        perEvent: { mode: 'claim', ...pick(perEvent) },
        variants: [
          { mode: 'publishBatch', batch: args.batch, wait: args.wait, ...pick(batched) },
          { mode: 'claim', batch: 1, wait: args.wait, ...pick(perEvent) },
        ],
      });
    }
    if (pm) scenarios.push({ name: NAME, transport: 'postMessage', ...pick(pm), mode: 'MessagePort.postMessage, one event per message' });
    const report = {
      machine: { ...machine, otherProcessesCores: Math.round(otherCores * 100) / 100 },
      settings: { eventBytes: 64, warmups: args.plan.warmups, runs: args.plan.runs, quick: args.quick, capacity: ringBase.capacity, wait: args.wait, batch: args.batch, pollMax: ringBase.pollMax },
      scenarios,
      ratio: ratio === undefined ? null : { ringOverPostMessage: ratio, goal: GOAL_RATIO, met: ratio >= GOAL_RATIO },
      goals: ring ? { ringEventsPerSec: GOAL_RING_EVENTS_PER_SEC, met: ring.m.eventsPerSec >= GOAL_RING_EVENTS_PER_SEC } : null,
    };
    writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
    console.log(`wrote ${args.json}`);
  }
}

main().catch((err: unknown) => {
  if (err instanceof BenchFailure) console.error(`\nBENCHMARK FAILED: ${err.message}\nNo figures are reported.`);
  else console.error(`\nBENCHMARK FAILED with an unexpected error:`, err);
  process.exit(1);
});
