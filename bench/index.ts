// npm run bench [-- options]: every scenario of registry.ts over the ring and the queues a
// Node user would pick instead, every event checked; a table per scenario with the ratios
// and the targets; --json, a chart next to it, --compare. `--help` lists the options.
//
// Any lost, reordered, duplicated or corrupt event ends the run with exit code 1 and no
// JSON. Figures of the scenarios that passed before the failure are printed as they come.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { renderChart } from './chart.js';
import { latencyChartPath, renderLatencyChart } from './latency-chart.js';
import type { Target, WaitName } from './flow.js';
import { BenchFailure, LoadMeter, machineInfo } from './harness.js';
import type { Fault } from './payload.js';
import { Progress } from './progress.js';
import { scenarios } from './registry.js';
import { compareTable, jsonRow, printScenario, type Report, reportProblems, targetsTable, verdict, wrap } from './report.js';
import type { ScenarioContext, ScenarioResult } from './scenario.js';

const DEFAULT_CAPACITY = 16 << 20;

const USAGE = `usage: npm run bench -- [options]
  --quick             fewer and shorter runs (a smoke test, what CI runs; under 2 minutes)
  --only NAME[,NAME]  run these scenarios only (--list shows them)
  --transport T[,T]   run these transports only (ring, postMessage, postMessage-batch,
                      messageChannel, broadcastChannel, plainSab, thread-stream, piscina,
                      eventEmitter, arrayQueue, ringbuf.js, ring-...; idle-cpu: default,
                      spin, yield, block)
  --json FILE         also write the results as JSON to FILE, and a chart beside it (FILE.svg;
                      with the latency scenario, its percentiles too: FILE-latency.svg)
  --chart FILE        write the chart (SVG) to FILE (and FILE-latency.svg)
  --compare OLD.json  print the change of each scenario and transport since OLD.json (the
                      file is checked before the run starts)
  --runs N            measured runs per transport after the warm-up (default 5; --quick 3)
  --seconds S         target length of one run (default 0.4; --quick 0.1); the warm-up run
                      sizes each transport's event count to it
  --events N          a fixed number of events per run for every transport instead
                      (--seconds and --events leave the pipeline scenarios' sizes alone)
  --wait S            wait strategy of the ring's workers: phased (the library's default), block, yield or spin
                      (spin falls back to yield where more threads are busy than cores)
  --capacity N        ring capacity in bytes, a power of two (default ${DEFAULT_CAPACITY})
  --fault F           make producer 0 lose, reorder or corrupt one event per run: the run
                      must fail (proves the checks fire)
  --verbose           print every run's figure
  --list              list the scenarios
  --help`;

function usage(problem?: string): never {
  if (problem) console.error(`bench: ${problem}\n`);
  console.error(USAGE);
  process.exit(problem ? 2 : 0);
}

function positive(name: string, value: string | undefined, fallback: number, integer = true): number {
  if (value === undefined) return fallback;
  const n = Number(value.replace(/_/g, ''));
  if (!(n > 0) || (integer && !Number.isInteger(n))) usage(`--${name} needs a positive ${integer ? 'integer' : 'number'}, got "${value}"`);
  return n;
}

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) usage(`--${name} must be one of ${allowed.join(', ')}; got "${value}"`);
  return value as T;
}

function parse() {
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        json: { type: 'string' },
        chart: { type: 'string' },
        compare: { type: 'string' },
        quick: { type: 'boolean', default: false },
        only: { type: 'string' },
        transport: { type: 'string' },
        runs: { type: 'string' },
        seconds: { type: 'string' },
        events: { type: 'string' },
        wait: { type: 'string' },
        capacity: { type: 'string' },
        fault: { type: 'string' },
        verbose: { type: 'boolean', default: false },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    usage((err as Error).message);
  }
  if (values.help) usage();
  if (values.list) {
    for (const s of scenarios) console.log(`${s.name.padEnd(20)} ${s.title}`);
    process.exit(0);
  }
  const quick = values.quick;
  const only = values.only?.split(',');
  for (const name of only ?? []) if (!scenarios.some((s) => s.name === name)) usage(`--only: no scenario "${name}" (--list shows them)`);
  const capacity = positive('capacity', values.capacity, DEFAULT_CAPACITY);
  if ((capacity & (capacity - 1)) !== 0) usage(`--capacity must be a power of two, got ${capacity}`);
  let old: Report | undefined;
  if (values.compare) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(values.compare, 'utf8'));
    } catch (err) {
      usage(`--compare: cannot read ${values.compare}: ${(err as Error).message}`);
    }
    const problems = reportProblems(parsed);
    if (problems.length > 0) usage(`--compare: ${values.compare} is not a report of npm run bench -- --json: ${problems.join('; ')}`);
    old = parsed as Report;
  }
  return {
    quick,
    only,
    transports: values.transport?.split(','),
    json: values.json,
    chart: values.chart ?? (values.json ? values.json.replace(/\.json$/i, '') + '.svg' : undefined),
    old,
    plan: {
      warmups: 1,
      runs: positive('runs', values.runs, quick ? 3 : 5),
      seconds: positive('seconds', values.seconds, quick ? 0.1 : 0.4, false),
      events: values.events === undefined ? undefined : positive('events', values.events, 1),
    },
    wait: oneOf<WaitName>('wait', values.wait, ['phased', 'block', 'yield', 'spin'], 'phased'),
    capacity,
    fault: oneOf<Fault>('fault', values.fault, ['none', 'lose', 'reorder', 'corrupt'], 'none'),
    verbose: values.verbose,
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const args = parse();
  const machine = machineInfo();
  const chosen = scenarios.filter((s) => !args.only || args.only.includes(s.name));
  console.log(wrap(`ringbus bench: ${chosen.map((s) => s.name).join(', ')}`, undefined, '  '));
  console.log(`${machine.cpuModel}, ${machine.cores} cores, Node ${machine.node} ${machine.platform}/${machine.arch}, ${machine.date}`);
  console.log(
    wrap(
      `${args.plan.warmups} warm-up + ${args.plan.runs} measured runs per transport, in rounds; ` +
        `${args.plan.events ? `${args.plan.events} events per run` : `each run sized to ~${args.plan.seconds} s`}${args.quick ? ' (--quick: a smoke test, not a measurement)' : ''}`,
    ),
  );
  console.log("every event is checked by its consumer (count, each producer's order, every byte or field); a failed check fails the run");
  if (args.fault !== 'none') console.log(`--fault ${args.fault}: producer 0 spoils one event per run; this run must FAIL`);
  const load = new LoadMeter();
  const base = { plan: args.plan, transports: args.transports, quick: args.quick };
  const progress = new Progress(
    chosen.reduce((a, s) => a + s.steps(base), 0),
    args.verbose,
  );
  const ctx: ScenarioContext = {
    ...base,
    fault: args.fault,
    stallMs: 10_000,
    wait: args.wait,
    capacity: args.capacity,
    cores: machine.cores,
    log: (line) => console.error(line),
    tick: (label, line) => progress.tick(label, line),
  };
  const results: ScenarioResult[] = [];
  try {
    for (const s of chosen) {
      progress.scenario(s.name);
      const r = await s.run(ctx);
      results.push(r);
      progress.print(() => printScenario(r));
    }
  } finally {
    progress.stop();
  }
  const otherCores = load.otherCores();
  const targets: Target[] = results.flatMap((r) => r.targets);
  if (targets.length > 0) {
    console.log('\nall targets:');
    console.log(targetsTable(targets));
  }
  console.log(`other processes kept ${otherCores.toFixed(2)} of ${machine.cores} cores busy meanwhile`);
  if (otherCores > 0.25) console.log(`warning: that is enough to make these figures low and noisy; run again on a quiet machine`);
  const durationSec = Math.round((performance.now() - started) / 100) / 10;
  console.log(`the run took ${durationSec} s`);

  const report: Report = {
    machine: { ...machine, otherProcessesCores: Math.round(otherCores * 100) / 100 },
    settings: {
      quick: args.quick,
      warmups: args.plan.warmups,
      runs: args.plan.runs,
      secondsPerRun: args.plan.seconds,
      ...(args.plan.events && { eventsPerRun: args.plan.events }),
      wait: args.wait,
      capacity: args.capacity,
      only: args.only ?? null,
      transports: args.transports ?? null,
    },
    scenarios: results.flatMap((r) => r.rows.map((row) => jsonRow(r.name, row))),
    targets,
    micro: results.flatMap((r) => (r.micro ?? []).map((m) => ({ scenario: r.name, ...m }))),
    durationSec,
  };
  if (args.old) console.log('\n' + compareTable(args.old, report));
  if (args.json) {
    writeFileSync(args.json, JSON.stringify(report, null, 2) + '\n');
    console.log(`wrote ${args.json}`);
  }
  if (args.chart) {
    writeFileSync(args.chart, renderChart(report));
    console.log(`wrote ${args.chart}`);
    const latency = renderLatencyChart(report);
    if (latency !== undefined) {
      writeFileSync(latencyChartPath(args.chart), latency);
      console.log(`wrote ${latencyChartPath(args.chart)}`);
    }
  }
  console.log(`\n${verdict(targets)}`);
}

main().catch((err: unknown) => {
  if (err instanceof BenchFailure) console.error(`\nBENCHMARK FAILED: ${err.message}\nNo JSON is written.`);
  else console.error(`\nBENCHMARK FAILED with an unexpected error:`, err);
  process.exit(1);
});
