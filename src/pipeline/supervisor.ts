import { Worker } from 'node:worker_threads';
import { StageLoadError, TimeoutError } from '../errors.js';
import { C_SHUTDOWN, C_SPILL, C_VACANCY, type ControlBlock, RESERVED, S_DIED_AT, statsIndex, takeSlot, vacate, VACANT, W_OWNER, W_STOP, wallClock, workerWord } from './control.js';
import type { Plan } from './plan.js';
import type { WorkerMessage, WorkerRole } from './stage-worker.js';

const WORKER_URL = new URL('./stage-worker.js', import.meta.url);

/** A vacant slot no standby took within this long gets a new worker. */
const STANDBY_GRACE_MS = 50;

/** A heal: a worker slot's worker died and another took its reader over. */
export interface Heal {
  slot: number;
  /** From the death (the worker's exit hook, the kill() call, or the exit event) to the replacement's first event handled. */
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
  /** worker.threadId, which reads -1 once the thread has ended. */
  threadId: number;
  /** Spilled events the worker counted (its own shared counter) and those received from it. */
  spillPosted?: Int32Array;
  spillReceived: number;
}

/**
 * Runs a pipeline's workers: one per worker slot (a stage has `concurrency` slots) plus
 * warm standbys. Stage workers are long-lived readers, so they are plain worker_threads,
 * not pooled tasks (piscina's model: short tasks handed to any free thread).
 *
 * A dead worker's slot falls vacant (see control.ts); a standby, which has every stage's
 * module loaded and every ring attached, takes it over within a fraction of a millisecond
 * and reopens its reader with `takeover`, resuming from the committed position. This
 * thread only keeps the books, starts new standbys, and starts a new worker for a slot no
 * standby took.
 */
export class Supervisor {
  private readonly bySlot: (Tracked | undefined)[];
  private readonly standbys = new Set<Tracked>();
  private readonly vacantSince = new Map<number, number>();
  private readonly killedAt = new Map<Worker, number>();
  private sweepTimer: NodeJS.Timeout | undefined;
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
    this.running = true;
    const words = this.control.words;
    Atomics.store(words, C_SHUTDOWN, 0);
    for (let slot = 0; slot < this.plan.workers; slot++) {
      Atomics.store(words, workerWord(slot, W_STOP), 0);
      Atomics.store(words, workerWord(slot, W_OWNER), RESERVED);
    }
    const started: Tracked[] = [];
    for (let slot = 0; slot < this.plan.workers; slot++) started.push(this.spawn({ kind: 'worker', slot, replacement: false }));
    for (let i = 0; i < this.standbyCount; i++) started.push(this.spawn({ kind: 'standby' }));
    try {
      await Promise.all(started.map((t) => this.ready(t, timeoutMs)));
    } catch (error) {
      await this.stop(0);
      throw error;
    }
  }

  /** Asks every worker to finish its batch and exit; terminates those still running after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.running = false;
    clearTimeout(this.sweepTimer);
    this.vacantSince.clear();
    const words = this.control.words;
    Atomics.store(words, C_SHUTDOWN, 1);
    Atomics.add(words, C_VACANCY, 1);
    Atomics.notify(words, C_VACANCY);
    const deadline = performance.now() + graceMs; // one grace for the whole stop, not one per component
    const ended = (t: Tracked) =>
      new Promise<void>((resolve) => {
        if (t.threadId >= 0 && t.worker.threadId < 0) return resolve(); // already gone
        const timer = setTimeout(() => void t.worker.terminate(), Math.max(0, deadline - performance.now()));
        t.worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    await Promise.all([...this.standbys].map(ended));
    // Upstream first: a stage blocked publishing into a downstream ring finishes its batch
    // while downstream still reads, instead of being terminated half-published.
    for (const component of new Set(this.plan.componentOf)) {
      const slots: number[] = [];
      this.plan.stages.forEach((stage, i) => {
        if (this.plan.componentOf[i] !== component) return;
        for (let m = 0; m < stage.concurrency; m++) slots.push(this.plan.firstSlot[i] + m);
      });
      for (const slot of slots) Atomics.store(words, workerWord(slot, W_STOP), 1);
      await Promise.all(slots.map((slot) => this.bySlot[slot]).filter((t): t is Tracked => t !== undefined).map(ended));
    }
    this.bySlot.fill(undefined);
    this.standbys.clear();
  }

  /** Terminates the worker running `slot`, as a crash would: for fault-injection tests. */
  async kill(slot: number): Promise<void> {
    let tracked: Tracked | undefined;
    // A slot being healed: kill its new worker once it runs (a standby may hold it already).
    for (let waited = 0; this.running && waited < 10_000; waited++) {
      const owner = Atomics.load(this.control.words, workerWord(slot, W_OWNER));
      tracked = this.bySlot[slot] ?? [...this.standbys].find((t) => t.threadId === owner);
      if (tracked !== undefined && owner === tracked.threadId) break;
      tracked = undefined;
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (tracked === undefined) return;
    this.killedAt.set(tracked.worker, wallClock());
    await tracked.worker.terminate();
  }

  /** Slots without a live worker known to run them: dead, vacant, or taken by a standby not yet heard from. */
  get healing(): number {
    let n = 0;
    for (let slot = 0; slot < this.plan.workers; slot++) if (this.bySlot[slot] === undefined) n++;
    return this.running ? n : 0;
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
      const timer = setTimeout(() => reject(new TimeoutError("starting the pipeline's workers (loading stage modules)", timeoutMs)), timeoutMs);
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
      const onExit = (code: number) => {
        const stage = tracked.role.kind === 'worker' ? this.plan.stages.find((s, i) => this.plan.firstSlot[i] + s.concurrency > (tracked.role as { slot: number }).slot)!.name : 'standby';
        done(new StageLoadError(stage, `its worker exited (code ${code}) while loading its module; look for an error thrown at the module's top level`));
      };
      tracked.worker.on('message', onMessage);
      tracked.worker.on('exit', onExit);
    });
  }

  private spawn(role: WorkerRole): Tracked {
    const worker = new Worker(WORKER_URL, { workerData: { plan: this.plan, role } });
    const tracked: Tracked = { worker, role, slot: role.kind === 'worker' ? role.slot : -1, ready: false, threadId: worker.threadId, spillReceived: 0 };
    if (role.kind === 'worker') this.bySlot[role.slot] = tracked;
    else this.standbys.add(tracked);
    worker.on('message', (m: WorkerMessage) => this.message(tracked, m));
    worker.on('error', () => undefined); // the exit that follows is what counts
    worker.on('exit', () => this.exited(tracked));
    return tracked;
  }

  private message(tracked: Tracked, m: WorkerMessage): void {
    switch (m.type) {
      case 'ready':
        tracked.ready = true;
        tracked.spillPosted = m.spillPosted;
        break;
      case 'spill':
        tracked.spillReceived += m.events.length;
        this.onSpill(m);
        break;
      case 'assigned':
        this.standbys.delete(tracked);
        tracked.slot = m.slot;
        this.bySlot[m.slot] = tracked;
        this.vacantSince.delete(m.slot);
        this.restarts[m.slot]++;
        if (this.running) setTimeout(() => this.running && this.spawn({ kind: 'standby' }), 0);
        break;
      case 'resumed': {
        const heal = { slot: m.slot, ms: m.at - m.diedAt, standby: tracked.role.kind === 'standby' };
        this.heals.push(heal);
        this.onHeal(heal);
        break;
      }
      default:
        break;
    }
  }

  private exited(tracked: Tracked): void {
    const killedAt = this.killedAt.get(tracked.worker);
    this.killedAt.delete(tracked.worker);
    const { words, stats } = this.control;
    // Node delivers a worker's messages before its exit event: a spill it counted and never
    // posted (terminated in between) will not come, so it is no longer in flight.
    const unposted = (tracked.spillPosted ? Atomics.load(tracked.spillPosted, 0) : 0) - tracked.spillReceived;
    if (unposted > 0) Atomics.sub(words, C_SPILL, unposted);
    let slot = tracked.slot;
    if (slot < 0) {
      // A standby: idle, or holding a slot it took without having reported it yet.
      this.standbys.delete(tracked);
      if (this.running) this.spawn({ kind: 'standby' });
      for (let s = 0; s < this.plan.workers && slot < 0; s++) if (Atomics.load(words, workerWord(s, W_OWNER)) === tracked.threadId) slot = s;
      if (slot < 0) return;
      this.restarts[slot]++;
    } else if (this.bySlot[slot] !== tracked) {
      return;
    }
    this.bySlot[slot] = undefined;
    if (!this.running) return;
    // A worker ended by terminate() ran no exit hook: hand its slot over now. (One that died
    // while starting still holds RESERVED.)
    const diedAt = killedAt ?? wallClock();
    if (!vacate(words, stats, slot, tracked.threadId, diedAt)) vacate(words, stats, slot, RESERVED, diedAt);
    this.vacantSince.set(slot, performance.now());
    this.sweep();
  }

  /**
   * Starts a new worker for each vacant slot that more vacancies than idle standbys leave
   * over, or that no standby took within STANDBY_GRACE_MS; runs again while any is vacant.
   */
  private sweep(): void {
    clearTimeout(this.sweepTimer);
    if (!this.running) return;
    const words = this.control.words;
    let idle = 0;
    for (const t of this.standbys) if (t.ready) idle++;
    const now = performance.now();
    for (const [slot, since] of this.vacantSince) {
      if (Atomics.load(words, workerWord(slot, W_OWNER)) !== VACANT) {
        if (this.bySlot[slot] !== undefined) this.vacantSince.delete(slot);
        continue; // a standby has it: its 'assigned' is on the way
      }
      if (idle > 0 && now - since < STANDBY_GRACE_MS) {
        idle--;
        continue;
      }
      if (takeSlot(words, slot, RESERVED)) {
        this.vacantSince.delete(slot);
        this.restarts[slot]++;
        this.spawn({ kind: 'worker', slot, replacement: true });
      }
    }
    if (this.vacantSince.size > 0) this.sweepTimer = setTimeout(() => this.sweep(), 5);
  }
}
