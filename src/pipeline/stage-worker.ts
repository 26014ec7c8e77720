// The entry point of every pipeline worker thread: a stage worker, or a warm standby that
// has loaded every stage's module and attached every ring, asleep until the supervisor
// hands it the slot of a worker that died.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type Bus } from '../bus.js';
import type { OutgoingEvent } from '../bus.js';
import { B_ASSIGNED, B_EXIT, B_FREE, B_SLOT, B_STATE, C_SPILL, standbyWord } from './control.js';
import type { Stage, StageHandler } from './declaration.js';
import { type Plan, slotOwner } from './plan.js';
import { StageRunner } from './stage-runner.js';

export type WorkerRole = { kind: 'worker'; slot: number; takeover: boolean } | { kind: 'standby'; standby: number };

/** Messages a pipeline worker sends its supervisor. */
export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'load-error'; stage: string; message: string }
  | { type: 'spill'; ring: number; events: OutgoingEvent[] }
  | { type: 'assigned'; slot: number }
  | { type: 'resumed'; slot: number; at: number }
  | { type: 'stopped' };

const { plan, role } = workerData as { plan: Plan; role: WorkerRole };
const port = parentPort!;
const post = (message: WorkerMessage) => port.postMessage(message);

const buses: Bus[] = [];
const busOf = (ring: number): Bus => (buses[ring] ??= attach(plan.rings[ring], { wait: plan.wait, claimTimeoutMs: plan.claimTimeoutMs }));

function spill(ring: number, events: OutgoingEvent[]): void {
  // Counted before it is posted, and posted before the batch that caused it is committed:
  // drain() sees it in flight until the supervisor has published it again.
  Atomics.add(plan.controlWords, C_SPILL, events.length);
  post({ type: 'spill', ring, events });
}

async function loadHandler(stage: Stage): Promise<StageHandler> {
  let module: Record<string, unknown>;
  try {
    module = await import(stage.module);
  } catch (error) {
    throw new Error(`its module ${stage.module} did not load: ${(error as Error)?.message ?? String(error)}`);
  }
  const name = stage.exportName ?? 'handler';
  const handler = module[name] ?? (stage.exportName === undefined ? module.default : undefined);
  if (typeof handler !== 'function') {
    throw new Error(`its module ${stage.module} exports no handler function: export one as "${name}"${stage.exportName === undefined ? ' or as the default export' : ''}`);
  }
  return handler as StageHandler;
}

async function load(stages: readonly Stage[]): Promise<Map<number, StageHandler> | undefined> {
  const handlers = new Map<number, StageHandler>();
  for (const stage of stages) {
    try {
      handlers.set(stage.index, await loadHandler(stage));
    } catch (error) {
      post({ type: 'load-error', stage: stage.name, message: (error as Error).message });
      return undefined;
    }
  }
  return handlers;
}

async function runSlot(handlers: Map<number, StageHandler>, slot: number, takeover: boolean): Promise<void> {
  const { stage } = slotOwner(plan, slot);
  const runner = new StageRunner(plan, slot, handlers.get(stage.index)!, busOf, spill);
  await runner.run(takeover ? (at) => post({ type: 'resumed', slot, at }) : undefined);
  post({ type: 'stopped' });
}

async function standby(handlers: Map<number, StageHandler>, standby: number): Promise<void> {
  plan.rings.forEach((_, ring) => busOf(ring)); // attached now, not on the clock of a heal
  const words = plan.controlWords;
  const state = standbyWord({ words, stats: plan.stats, workers: plan.workers, standbys: plan.standbys }, standby, B_STATE);
  post({ type: 'ready' });
  for (;;) {
    const now = Atomics.load(words, state);
    if (now === B_EXIT) return;
    if (now === B_ASSIGNED) {
      const slot = Atomics.load(words, state - B_STATE + B_SLOT);
      Atomics.store(words, state, B_FREE);
      post({ type: 'assigned', slot });
      return runSlot(handlers, slot, true);
    }
    Atomics.wait(words, state, now, 1000);
  }
}

async function main(): Promise<void> {
  if (role.kind === 'standby') {
    const handlers = await load(plan.stages);
    if (handlers !== undefined) await standby(handlers, role.standby);
    return;
  }
  const { stage } = slotOwner(plan, role.slot);
  const handlers = await load([stage]);
  if (handlers === undefined) return;
  post({ type: 'ready' });
  await runSlot(handlers, role.slot, role.takeover);
}

await main();
