import { Worker } from 'node:worker_threads';
import { StageLoadError, TimeoutError } from '../errors.js';
import { B_ASSIGNED, B_EXIT, B_FREE, B_SLOT, B_STATE, B_WAITING, type ControlBlock, standbyWord, W_STOP, workerWord } from './control.js';
import type { Plan } from './plan.js';
import type { WorkerMessage, WorkerRole } from './stage-worker.js';

const WORKER_URL = new URL('./stage-worker.js', import.meta.url);

/** A heal: a worker slot's worker died and another took its reader over. */
export interface Heal {
  slot: number;
  /** From the death (the kill() call, or the exit event) to the replacement's first event handled. */
  ms: number;
  /** Whether a warm standby took over (false: a new worker had to start). */
  standby: boolean;
}

interface Tracked {
  worker: Worker;
  role: WorkerRole;
  /** The worker slot it runs, or -1 for a standby not yet assigned. */
  slot: number;
  ready: boolean;
}

/**
 * Runs a pipeline's workers: one per worker slot (a stage has `concurrency` slots) plus
 * warm standbys. Stage workers are long-lived readers, so they are plain worker_threads,
 * not pooled tasks (piscina's model: short tasks handed to any free thread). When a
 * worker dies, a standby, already holding every stage's module and every ring, takes its
 * slot over within a few ms; a new standby is started in the background.
 */
export class Supervisor {
  private readonly bySlot: (Tracked | undefined)[];
  private readonly standbys = new Set<Tracked>();
  private readonly deathAt = new Map<number, { at: number; standby: boolean }>();
  private readonly killedAt = new Map<Worker, number>();
  private stopping = false;
  private running = false;
  readonly restarts: number[];
  readonly heals: Heal[] = [];

  constructor(
    private readonly plan: Plan,
    private readonly control: ControlBlock,
    private readonly standbyCount: number,
    private readonly onSpill: (message: WorkerMessage & { type: 'spill' }) => void,
    private readonly onHeal: (heal: Heal) => void,
  ) {
    this.bySlot = new Array(plan.workers).fill(undefined);
    this.restarts = new Array(plan.workers).fill(0);
  }

  /** Starts every stage worker and the standbys; resolves when all have loaded their modules. */
  async start(timeoutMs: number): Promise<void> {
    this.stopping = false;
    this.running = true;
    for (let slot = 0; slot < this.plan.workers; slot++) Atomics.store(this.control.words, workerWord(slot, W_STOP), 0);
    const started: Tracked[] = [];
    for (let slot = 0; slot < this.plan.workers; slot++) started.push(this.spawn({ kind: 'worker', slot, takeover: false }));
    for (let i = 0; i < this.standbyCount; i++) {
      const standby = this.spawnStandby();
      if (standby !== undefined) started.push(standby);
    }
    try {
      await Promise.all(started.map((t) => this.ready(t, timeoutMs)));
    } catch (error) {
      await this.stop(0);
      throw error;
    }
  }

  /** Asks every worker to finish its batch and exit; terminates those still running after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.running = false;
    const words = this.control.words;
    for (let slot = 0; slot < this.plan.workers; slot++) Atomics.store(words, workerWord(slot, W_STOP), 1);
    for (let s = 0; s < this.control.standbys; s++) {
      const state = standbyWord(this.control, s, B_STATE);
      if (Atomics.load(words, state) === B_WAITING) Atomics.store(words, state, B_EXIT);
      Atomics.notify(words, state);
    }
    const all = [...this.bySlot.filter((t): t is Tracked => t !== undefined), ...this.standbys];
    await Promise.all(
      all.map(async ({ worker }) => {
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        const timer = setTimeout(() => void worker.terminate(), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
    this.bySlot.fill(undefined);
    this.standbys.clear();
    for (let s = 0; s < this.control.standbys; s++) Atomics.store(words, standbyWord(this.control, s, B_STATE), B_FREE);
  }

  /** Terminates the worker running `slot`, as a crash would: for fault-injection tests. */
  async kill(slot: number): Promise<void> {
    const tracked = this.bySlot[slot];
    if (tracked === undefined) return;
    this.killedAt.set(tracked.worker, performance.timeOrigin + performance.now());
    await tracked.worker.terminate();
  }

  /** Warm standbys ready to take over now. */
  get standbysReady(): number {
    let n = 0;
    for (const t of this.standbys) if (t.ready) n++;
    return n;
  }

  private ready(tracked: Tracked, timeoutMs: number): Promise<void> {
    if (tracked.ready) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new TimeoutError('starting the pipeline\'s workers (loading stage modules)', timeoutMs)), timeoutMs);
      const done = (error?: Error) => {
        clearTimeout(timer);
        tracked.worker.off('message', onMessage);
        tracked.worker.off('exit', onExit);
        if (error) reject(error);
        else resolve();
      };
      const onMessage = (m: WorkerMessage) => {
        if (m.type === 'ready') done();
        else if (m.type === 'load-error') done(new StageLoadError(m.stage, m.message));
      };
      const onExit = (code: number) => done(new Error(`a pipeline worker exited (code ${code}) while starting`));
      tracked.worker.on('message', onMessage);
      tracked.worker.on('exit', onExit);
    });
  }

  private spawn(role: WorkerRole): Tracked {
    const worker = new Worker(WORKER_URL, { workerData: { plan: this.plan, role } });
    const tracked: Tracked = { worker, role, slot: role.kind === 'worker' ? role.slot : -1, ready: false };
    if (role.kind === 'worker') this.bySlot[role.slot] = tracked;
    else this.standbys.add(tracked);
    worker.on('message', (m: WorkerMessage) => this.message(tracked, m));
    worker.on('error', () => undefined); // the exit that follows is what counts
    worker.on('exit', () => this.exited(tracked));
    return tracked;
  }

  private spawnStandby(): Tracked | undefined {
    const words = this.control.words;
    for (let s = 0; s < this.control.standbys; s++) {
      const state = standbyWord(this.control, s, B_STATE);
      if (Atomics.compareExchange(words, state, B_FREE, B_WAITING) === B_FREE) return this.spawn({ kind: 'standby', standby: s });
    }
    return undefined; // every standby slot still holds an assignment not yet read
  }

  private message(tracked: Tracked, m: WorkerMessage): void {
    switch (m.type) {
      case 'ready':
        tracked.ready = true;
        break;
      case 'spill':
        this.onSpill(m);
        break;
      case 'resumed': {
        const death = this.deathAt.get(m.slot);
        if (death === undefined) break;
        this.deathAt.delete(m.slot);
        const heal = { slot: m.slot, ms: Math.max(0, m.at - death.at), standby: death.standby };
        this.heals.push(heal);
        this.onHeal(heal);
        break;
      }
      default:
        break;
    }
  }

  private exited(tracked: Tracked): void {
    if (tracked.slot < 0) {
      this.standbys.delete(tracked);
      if (this.running) this.spawnStandby(); // a standby died: keep the pool full
      return;
    }
    if (this.bySlot[tracked.slot] !== tracked) return;
    this.bySlot[tracked.slot] = undefined;
    if (!this.running) return;
    this.replace(tracked.slot, this.killedAt.get(tracked.worker) ?? performance.timeOrigin + performance.now());
    this.killedAt.delete(tracked.worker);
  }

  /** Hands a dead worker's slot to a standby (or, with none ready, to a new worker). */
  private replace(slot: number, diedAt: number): void {
    this.restarts[slot]++;
    let standby: Tracked | undefined;
    for (const t of this.standbys) {
      if (t.ready && t.role.kind === 'standby') {
        standby = t;
        break;
      }
    }
    this.deathAt.set(slot, { at: diedAt, standby: standby !== undefined });
    if (standby !== undefined && standby.role.kind === 'standby') {
      const words = this.control.words;
      const state = standbyWord(this.control, standby.role.standby, B_STATE);
      Atomics.store(words, state - B_STATE + B_SLOT, slot);
      Atomics.store(words, state, B_ASSIGNED);
      Atomics.notify(words, state);
      this.standbys.delete(standby);
      standby.slot = slot;
      this.bySlot[slot] = standby;
    } else {
      this.spawn({ kind: 'worker', slot, takeover: true });
    }
    this.spawnStandby();
  }
}
