// The entry point of every pipeline worker thread: a stage worker, or a warm standby that
// has loaded every stage's module and attached every ring, asleep until a seat
// falls vacant.
import { parentPort, threadId, workerData } from 'node:worker_threads';
import { attach, type Bus, createBus, type OutgoingEvent } from '../bus.js';
import { readBatch } from '../internal.js';
import {
  C_SHUTDOWN,
  C_VACANCY,
  commitCursorIfSeated,
  recordDeath,
  recordResume,
  retired,
  SEAT_OWNER,
  seatWord,
  STAT_DIED_AT,
  statsIndex,
  takeReservedSeat,
  takeSeat,
  vacate,
  wallClock,
} from './control.js';
import type { Stage, StageBatchHandler, StageHandler, StageRecordsHandler } from './declaration.js';
import { type Plan, stageOfSeat } from './plan.js';
import { type StageHandlers, StageRunner } from './stage-runner.js';

export type WorkerRole =
  /** `token`: the reservation in the seat's owner word that this worker, and only it, may claim. */
  { kind: 'worker'; seat: number; replacement: boolean; token: number } | { kind: 'standby' };

/** Messages a pipeline worker sends its supervisor. */
export type WorkerMessage =
  | { type: 'ready'; spillPosted: Int32Array }
  /** Sent before each stage module is imported: a module that ends the thread while loading is named by it. */
  | { type: 'loading'; stage: string }
  | { type: 'load-error'; stage: string; message: string }
  | { type: 'spill'; ring: number; events: OutgoingEvent[]; letters: boolean; kept?: number[] }
  | { type: 'took'; seat: number }
  /** The heal is over: its times are in the worker's resume record (this message only wakes the supervisor). */
  | { type: 'resumed' }
  | { type: 'stopped' };

const { plan, role, resume } = workerData as { plan: Plan; role: WorkerRole; resume: SharedArrayBuffer };
const port = parentPort!;
const post = (message: WorkerMessage) => port.postMessage(message);
const words = plan.controlWords;

/** The seat this thread runs, while it runs it. */
let running = -1;

// A worker that dies by process.exit() or an uncaught error runs this as its last
// JavaScript: it can commit nothing more, so its seat can be handed over at once, by the
// standbys, without waiting for the supervisor to see the thread end. (terminate() runs
// no exit hook; the supervisor vacates the seat then.)
process.on('exit', () => {
  if (running < 0 || Atomics.load(words, seatWord(running, SEAT_OWNER)) !== threadId) return;
  recordDeath(plan.stats, running);
  vacate(words, plan.stats, running, threadId, wallClock());
});

const buses: Bus[] = [];
const busOf = (ring: number): Bus => (buses[ring] ??= attach(plan.rings[ring], { wait: plan.wait, codec: plan.codec }));
/** Dead letters are objects: MessagePack, whatever the pipeline's codec. */
const letterBuses: Bus[] = [];
const letterBusOf = (ring: number): Bus =>
  plan.codec === 'msgpack' ? busOf(ring) : (letterBuses[ring] ??= attach(plan.rings[ring], { wait: plan.wait, codec: 'msgpack' }));

/**
 * Events this thread has posted to re-enter a loop, counted before each post: the
 * supervisor compares it with what it received, so drain() sees a spill in flight until
 * it arrived (and, once this thread is dead, all its messages have).
 */
const spillPosted = new Int32Array(new SharedArrayBuffer(4));

function spill(ring: number, events: OutgoingEvent[], letters: boolean, kept?: number[]): void {
  // posted before the cursor commit of the batch that caused it
  Atomics.add(spillPosted, 0, events.length);
  post({ type: 'spill', ring, events, letters, kept });
}

async function loadHandler(stage: Stage): Promise<StageHandlers> {
  let module: Record<string, unknown>;
  try {
    module = await import(stage.module);
  } catch (error) {
    throw new Error(`its module ${stage.module} did not load: ${(error as Error)?.message ?? String(error)}`);
  }
  const named = (kind: string, name: string | undefined): ((...args: never[]) => unknown) | undefined => {
    if (name === undefined) return undefined;
    if (typeof module[name] !== 'function') throw new Error(`its module ${stage.module} exports no ${kind} function "${name}"`);
    return module[name] as (...args: never[]) => unknown;
  };
  const name = stage.exportName ?? 'handler';
  const handler = module[name] ?? (stage.exportName === undefined ? module.default : undefined);
  const noHandler = () =>
    new Error(
      `its module ${stage.module} exports no handler function: export one as "${name}"${stage.exportName === undefined ? ' or as the default export, or a batch handler as "batch", or a records handler as "records"' : ''}`,
    );
  // every name given must be there, whichever of them is used
  const records = named('records handler', stage.recordsExport);
  const batch = named('batch handler', stage.batchExport);
  if (stage.exportName !== undefined && typeof handler !== 'function') throw noHandler();
  if (records !== undefined) return { records: records as StageRecordsHandler };
  if (batch !== undefined) return { batch: batch as StageBatchHandler };
  if (stage.exportName === undefined) {
    if (typeof module.records === 'function') return { records: module.records as StageRecordsHandler };
    if (typeof module.batch === 'function') return { batch: module.batch as StageBatchHandler };
  }
  if (typeof handler !== 'function') throw noHandler();
  return { event: handler as StageHandler };
}

async function load(stages: readonly Stage[]): Promise<Map<number, StageHandlers> | undefined> {
  const handlers = new Map<number, StageHandlers>();
  for (const stage of stages) {
    post({ type: 'loading', stage: stage.name });
    try {
      handlers.set(stage.index, await loadHandler(stage));
    } catch (error) {
      post({ type: 'load-error', stage: stage.name, message: (error as Error).message });
      return undefined;
    }
  }
  return handlers;
}

function runnerOf(handlers: Map<number, StageHandlers>, seat: number): StageRunner {
  const { stage } = stageOfSeat(plan, seat);
  return new StageRunner(plan, seat, handlers.get(stage.index)!, busOf, spill, letterBusOf, (commitCursor) =>
    commitCursorIfSeated(words, seat, threadId, commitCursor),
  );
}

async function runSeat(runner: StageRunner, seat: number, replacement: boolean): Promise<void> {
  // the death this worker replaces; read now, as another may overwrite it before the supervisor looks
  const diedAt = plan.stats[statsIndex(seat, STAT_DIED_AT)];
  running = seat;
  const resumed = (at: number) => {
    recordResume(resume, seat, at, diedAt);
    post({ type: 'resumed' });
  };
  await runner.run(replacement ? resumed : undefined);
  running = -1;
  post({ type: 'stopped' });
}

/**
 * Runs what a takeover runs (opening a reader with takeover, reading, decoding, publishing,
 * committing) on a scratch bus, so that V8 has compiled it before a heal is on the clock.
 */
function warmUp(): void {
  // in the pipeline's codec: a replacement's first read decodes the stage's records with it
  const bus = createBus({ capacity: 4096, topics: ['warm'], maxReaders: 2, codec: plan.codec });
  const raw = plan.codec === 'raw';
  for (let round = 0; round < 64; round++) {
    const reader = bus.reader('warm', { takeover: true });
    bus.publishEvents([
      { topic: 'warm', value: raw ? new Uint8Array([round, 1, 2, 3]) : { id: round, text: 'warm' } },
      { topic: 'warm', value: raw ? new Uint8Array(8) : round },
    ]);
    readBatch(reader, 4, { values: [], topics: [], seqs: [], heads: [] }, true);
    reader.commit();
    reader.close();
  }
  bus.close();
}

async function standby(handlers: Map<number, StageHandlers>): Promise<void> {
  // attached now, not on the clock of a heal
  plan.rings.forEach((_, ring) => {
    busOf(ring);
    letterBusOf(ring);
  });
  warmUp();
  // Built now, not on the clock of a heal: a first construction (its code compiled then) took half a millisecond.
  // This thread runs with the pipeline's limits: a stage with its own gets a new worker.
  const runners = new Map<number, StageRunner>();
  for (let seat = 0; seat < plan.seats; seat++) if (stageOfSeat(plan, seat).stage.resourceLimits === undefined) runners.set(seat, runnerOf(handlers, seat));
  post({ type: 'ready', spillPosted });
  for (;;) {
    const seen = Atomics.load(words, C_VACANCY);
    if (Atomics.load(words, C_SHUTDOWN) !== 0 || retired(resume)) return;
    for (const [seat, runner] of runners) {
      if (takeSeat(words, seat, threadId)) {
        post({ type: 'took', seat });
        return runSeat(runner, seat, true);
      }
    }
    Atomics.wait(words, C_VACANCY, seen, 1000);
  }
}

async function main(): Promise<void> {
  if (role.kind === 'standby') {
    const handlers = await load(plan.stages);
    if (handlers !== undefined) await standby(handlers);
    return;
  }
  const { stage } = stageOfSeat(plan, role.seat);
  const handlers = await load([stage]);
  if (handlers === undefined) return;
  if (!takeReservedSeat(words, role.seat, role.token, threadId)) return; // the supervisor gave the seat up meanwhile
  post({ type: 'ready', spillPosted });
  await runSeat(runnerOf(handlers, role.seat), role.seat, role.replacement);
}

await main();
