import { type ResourceLimits, Worker } from 'node:worker_threads';
import { PipelineStateError, StageLoadError, TimeoutError } from '../errors.js';
import {
  C_SHUTDOWN,
  C_VACANCY,
  type ControlBlock,
  createResumeRecord,
  FENCING,
  readResume,
  recordDeath,
  retire,
  SEAT_CURSOR_LOCK,
  SEAT_OWNER,
  SEAT_STOP,
  seatWord,
  STAT_HANDLING,
  STAT_HANDLING_SINCE,
  statsIndex,
  takeSeat,
  VACANT,
  vacate,
  wallClock,
} from './control.js';
import { type Plan, stageOfSeat } from './plan.js';
import type { WorkerMessage, WorkerRole } from './stage-worker.js';

const WORKER_URL = new URL('./stage-worker.js', import.meta.url);

/** A vacant seat no standby took within this long gets a new worker. */
const STANDBY_GRACE_MS = 50;
/**
 * With no standby ready, a vacant seat waits this long for one still starting: it started
 * before any new worker could, and a new worker costs as much to start.
 */
const STARTING_GRACE_MS = 250;

/**
 * Takeovers closer together than this (about what a new standby needs to get ready, with
 * room for a loaded machine) add a standby to the pool, up to MAX_EXTRA_STANDBYS more than
 * asked for; after POOL_QUIET_MS without one, the pool shrinks back one standby at a time.
 */
const STANDBY_READY_MS = 300;
const MAX_EXTRA_STANDBYS = 3;
const POOL_QUIET_MS = 10_000;
/**
 * The standby that replaces one taken over starts once the heals under way are over (the
 * last replacement's 'resumed' message), or after this long at the latest: a thread's start takes a core for
 * 100 ms or more, and started at once it competed with the heal it replenishes for the
 * machine's cores (heals of 5–14 ms behind ones of 1–2 ms on 2 cores).
 */
const REFILL_AFTER_HEAL_MS = 20;

/** A heal: a seat's worker died and another took its reader over. */
export interface Heal {
  seat: number;
  /** From the death (the worker's exit hook, the kill() call, or the exit event) to the replacement's first event handled. */
  ms: number;
  /** Whether a warm standby took over (false: a new worker had to start). */
  standby: boolean;
}

interface Tracked {
  worker: Worker;
  role: WorkerRole;
  /** worker.threadId, which reads -1 once the thread has ended. */
  threadId: number;
  /** The seat it runs, once known: from its role, or for a standby from the owner words. */
  seat: number;
  ready: boolean;
  /** The stage whose module it is loading, or last loaded. */
  loading?: string;
  /** Spilled events the worker counted (its own shared counter) and those received from it. */
  spillPosted?: Int32Array;
  spillReceived: number;
  /** Where a replacement records the heal it ends (control.ts), and whether it was counted here. */
  resume: SharedArrayBuffer;
  healCounted: boolean;
  /** An idle standby let go because the pool shrank: not replaced when it exits. */
  retired?: boolean;
  /** What STAT_HANDLING held when the watchdog found its handler past the stage's handlerTimeoutMs and terminated it. */
  timedOut?: number;
}

/**
 * Runs a pipeline's workers: one per seat (a stage has `concurrency` seats) plus
 * warm standbys. Stage workers are long-lived readers, so they are plain worker_threads,
 * not pooled tasks (piscina's model: short tasks handed to any free thread).
 *
 * Who runs a seat is written in its owner word (control.ts), never only here: a dead
 * worker's seat falls VACANT, a standby (which has every stage's module loaded and every
 * ring attached) swaps in its threadId within a fraction of a millisecond and reopens the
 * reader with `takeover`. A new worker is started for a seat under a reservation token of
 * its own, which only it can turn into its threadId. This thread keeps the books, starts
 * standbys, and starts a new worker for a seat no standby took.
 */
export class Supervisor {
  /** Every worker thread not yet seen to exit. */
  private readonly live = new Set<Tracked>();
  private readonly vacantSince = new Map<number, number>();
  /** Vacant seats that found no standby ready (the pool grew for each). */
  private readonly shortOf = new Set<number>();
  private readonly killedAt = new Map<Worker, number>();
  private sweepTimer: NodeJS.Timeout | undefined;
  private watchTimer: NodeJS.Timeout | undefined;
  private running = false;
  private nextToken = -1;
  /** Set when a replacement cannot load its module: no more replacements. */
  private broken = false;
  private readonly restartCounts: number[];
  /** Standbys the pool keeps now: `standbyCount`, more while deaths come fast. */
  private poolSize = 0;
  private lastTakeover = -Infinity;
  private poolTimer: NodeJS.Timeout | undefined;
  /** The pending refill after a takeover (see REFILL_AFTER_HEAL_MS). */
  private refillTimer: NodeJS.Timeout | undefined;
  private readonly healed: Heal[] = [];

  constructor(
    private readonly plan: Plan,
    private readonly control: ControlBlock,
    private readonly standbyCount: number,
    private readonly resourceLimits: ResourceLimits,
    private readonly onSpill: (message: WorkerMessage & { type: 'spill' }) => void,
    private readonly onHeal: (heal: Heal) => void,
    private readonly onError: (error: Error) => void,
  ) {
    this.restartCounts = new Array(plan.seats).fill(0);
  }

  /** Heals, oldest first: each as soon as its replacement recorded it, whether or not its message arrived. */
  get heals(): readonly Heal[] {
    this.countHeals();
    return this.healed;
  }

  /** Counts (and reports) every heal a live replacement has recorded and whose message has not come yet. */
  countHeals(): void {
    for (const t of this.live) this.countHeal(t);
  }

  /** Replacements per seat, standbys' takeovers included as soon as they are in the owner words. */
  get restarts(): readonly number[] {
    this.adopt();
    return this.restartCounts;
  }

  /** Starts every stage worker and the standbys; resolves when all have loaded their modules. */
  async start(timeoutMs: number): Promise<void> {
    if (this.live.size > 0) throw new Error('workers of the previous run are still alive'); // stop() waits for all: a bug if seen
    this.running = true;
    this.broken = false;
    const { words, stats } = this.control;
    Atomics.store(words, C_SHUTDOWN, 0);
    const started: Tracked[] = [];
    for (let seat = 0; seat < this.plan.seats; seat++) {
      Atomics.store(words, seatWord(seat, SEAT_STOP), 0);
      Atomics.store(words, seatWord(seat, SEAT_CURSOR_LOCK), 0);
      stats[statsIndex(seat, STAT_HANDLING)] = -1; // a worker terminated by the last stop() is not a crash
      const token = this.nextToken--;
      Atomics.store(words, seatWord(seat, SEAT_OWNER), token);
      started.push(this.spawn({ kind: 'worker', seat, replacement: false, token }));
    }
    this.poolSize = this.standbyCount;
    this.lastTakeover = -Infinity;
    for (let i = 0; i < this.standbyCount; i++) started.push(this.spawn({ kind: 'standby' }));
    if (this.standbyCount > 0) this.poolTimer = setInterval(() => this.shrinkPool(), POOL_QUIET_MS / 4).unref();
    const limits = this.plan.stages.map((stage) => stage.handlerTimeoutMs).filter((ms) => ms > 0);
    // checked four times per limit, so a handler is caught within 1.25 × its limit
    if (limits.length > 0) this.watchTimer = setInterval(() => this.watch(), Math.min(250, Math.max(5, Math.min(...limits) / 4))).unref();
    try {
      await Promise.all(started.map((t) => this.ready(t, timeoutMs)));
    } catch (error) {
      await this.stop(0);
      throw error;
    }
  }

  /**
   * Asks every worker to finish its batch and exit, stage by stage, upstream first;
   * terminates those still running after `graceMs` (for the whole stop).
   */
  async stop(graceMs: number): Promise<void> {
    this.running = false;
    clearTimeout(this.sweepTimer);
    clearInterval(this.watchTimer);
    clearInterval(this.poolTimer);
    clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
    this.vacantSince.clear();
    this.shortOf.clear();
    const words = this.control.words;
    Atomics.store(words, C_SHUTDOWN, 1);
    Atomics.add(words, C_VACANCY, 1);
    Atomics.notify(words, C_VACANCY);
    this.adopt();
    const deadline = performance.now() + graceMs;
    const ended = (t: Tracked) =>
      new Promise<void>((resolve) => {
        if (!this.live.has(t)) return resolve();
        const timer = setTimeout(
          () => {
            this.killedAt.set(t.worker, wallClock()); // not the fault of the event in its hands
            void t.worker.terminate();
          },
          Math.max(0, deadline - performance.now()),
        );
        t.worker.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
      });
    await Promise.all([...this.live].filter((t) => t.seat < 0).map(ended)); // idle standbys
    // Upstream first: a stage blocked publishing into a downstream ring finishes its batch
    // while downstream still reads, instead of being terminated half-published.
    for (const component of new Set(this.plan.componentOf)) {
      const seats = new Set<number>();
      this.plan.stages.forEach((stage, i) => {
        if (this.plan.componentOf[i] !== component) return;
        for (let m = 0; m < stage.concurrency; m++) seats.add(this.plan.firstSeat[i] + m);
      });
      for (const seat of seats) Atomics.store(words, seatWord(seat, SEAT_STOP), 1);
      this.adopt();
      await Promise.all([...this.live].filter((t) => seats.has(t.seat)).map(ended));
    }
    this.adopt();
    await Promise.all([...this.live].map(ended)); // whatever took a seat meanwhile
  }

  /**
   * Terminates the worker of each seat whose handler has run past its stage's
   * handlerTimeoutMs: a failed attempt at the event in its hands, counted when its exit is
   * seen (then no other thread writes the seat's statistics).
   */
  private watch(): void {
    if (!this.running) return;
    const { words, stats } = this.control;
    const now = wallClock();
    this.plan.stages.forEach((stage, i) => {
      if (stage.handlerTimeoutMs === 0) return;
      for (let m = 0; m < stage.concurrency; m++) {
        const seat = this.plan.firstSeat[i] + m;
        const handling = stats[statsIndex(seat, STAT_HANDLING)];
        if (handling === -1 || now - stats[statsIndex(seat, STAT_HANDLING_SINCE)] <= stage.handlerTimeoutMs) continue;
        const tracked = this.owner(seat);
        if (tracked === undefined || tracked.timedOut !== undefined || Atomics.load(words, seatWord(seat, SEAT_OWNER)) !== tracked.threadId) continue;
        tracked.timedOut = handling;
        this.killedAt.set(tracked.worker, now); // the heal is timed from here
        void tracked.worker.terminate();
        this.handOver(tracked, now);
      }
    });
  }

  /** Terminates the worker running `seat`, as a crash would: for fault-injection tests. */
  async kill(seat: number): Promise<void> {
    // A seat being healed: kill its new worker once its heal is over, so that each kill has
    // a heal of its own (a replacement killed before its first read would end none).
    for (let waited = 0; this.running && waited < 10_000; waited++) {
      if (this.broken)
        throw new PipelineStateError(
          `kill(): ${this.seatText(seat)} is down (a replacement could not load its module: see the pipeline's 'error' event); there is no worker to kill`,
        );
      const tracked = this.owner(seat);
      if (tracked !== undefined && this.runsHealed(seat, tracked)) {
        const at = wallClock();
        this.killedAt.set(tracked.worker, at);
        const ended = tracked.worker.terminate(); // asks V8 to stop its JavaScript first
        this.handOver(tracked, at);
        await ended;
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    if (this.running) throw new PipelineStateError(`kill(): ${this.seatText(seat)} had no running worker for 10 s (still being replaced); nothing was killed`);
  }

  private seatText(seat: number): string {
    const { stage, member } = stageOfSeat(this.plan, seat);
    return `stage "${stage.name}" worker ${member}`;
  }

  /**
   * Hands the seat of a worker being terminated to a successor now, instead of when its
   * 'exit' is seen (after its isolate is torn down, and whenever this thread's event loop
   * gets to it: 5 to 430 ms measured on a loaded 2-core machine). Under the seat's cursor lock: the worker
   * is not inside a cursor commit, and once the owner word no longer names it, it commits nothing
   * more (commitCursorIfSeated), so its successor's reader is never moved under it. False where
   * the worker holds the lock for longer than a cursor commit takes (descheduled inside one, or
   * terminated there): its exit hands the seat over, as before; so does a group member's.
   */
  private handOver(tracked: Tracked, diedAt: number): boolean {
    const { words, stats } = this.control;
    const seat = tracked.seat;
    if (seat < 0 || !this.running) return false;
    // A group member's read writes its reader slot too (it takes a batch off the group): two
    // threads reading through one member's reader slot could lose a batch, so a member waits for its worker's exit.
    if (stageOfSeat(this.plan, seat).stage.concurrency > 1) return false;
    const lock = seatWord(seat, SEAT_CURSOR_LOCK);
    const until = performance.now() + 0.05;
    while (Atomics.compareExchange(words, lock, 0, FENCING) !== 0) if (performance.now() > until) return false;
    try {
      if (Atomics.load(words, seatWord(seat, SEAT_OWNER)) !== tracked.threadId) return false;
      this.settleDeath(tracked, true);
      if (!vacate(words, stats, seat, tracked.threadId, diedAt)) return false;
    } finally {
      Atomics.store(words, lock, 0);
    }
    this.vacantSince.set(seat, performance.now());
    this.sweep();
    return true;
  }

  /**
   * What a worker that ran no exit hook leaves in its seat's statistics: a death in the
   * handler counted (or, terminated from outside, not held against the event in its hands).
   */
  private settleDeath(tracked: Tracked, killed: boolean): void {
    const stats = this.control.stats;
    const seat = tracked.seat;
    if (tracked.timedOut !== undefined) {
      // the handler may have moved on since: the attempt that timed out is the one counted
      stats[statsIndex(seat, STAT_HANDLING)] = tracked.timedOut;
      recordDeath(stats, seat, true);
    } else if (killed) stats[statsIndex(seat, STAT_HANDLING)] = -1;
    else recordDeath(stats, seat);
  }

  /**
   * Seats whose heal is not over: vacant, reserved for a worker that has not started, or
   * run by a replacement that has not read yet. Its first read ends the heal and records
   * it, so once none is left every heal so far is in `heals`.
   */
  get healing(): number {
    if (!this.running) return 0;
    let n = 0;
    for (let seat = 0; seat < this.plan.seats; seat++) {
      const owner = this.owner(seat);
      if (owner === undefined || !this.runsHealed(seat, owner)) n++;
    }
    return n;
  }

  /** Whether `owner` (from owner()) runs `seat` and, if it replaced a dead worker, has ended that heal. */
  private runsHealed(seat: number, owner: Tracked): boolean {
    if (Atomics.load(this.control.words, seatWord(seat, SEAT_OWNER)) !== owner.threadId) return false; // still a reservation
    return !(owner.role.kind === 'standby' || owner.role.replacement) || readResume(owner.resume) !== undefined;
  }

  /** Warm standbys ready to take over now. */
  get standbysReady(): number {
    this.adopt();
    let n = 0;
    for (const t of this.live) if (t.role.kind === 'standby' && t.seat < 0 && t.ready && !t.retired) n++;
    return n;
  }

  /** Spilled events counted by live workers and not yet received here (a dead worker's messages all arrived before its exit). */
  get spillInFlight(): number {
    let n = 0;
    for (const t of this.live) if (t.spillPosted) n += Atomics.load(t.spillPosted, 0) - t.spillReceived;
    return n;
  }

  /** The live worker whose threadId or reservation token is in the seat's owner word. */
  private owner(seat: number): Tracked | undefined {
    const word = Atomics.load(this.control.words, seatWord(seat, SEAT_OWNER));
    if (word === VACANT) return undefined;
    for (const t of this.live) if (t.threadId === word || (t.role.kind === 'worker' && t.role.token === word)) return t;
    return undefined;
  }

  /**
   * Standbys that took a seat become that seat's worker in these books: seen in the owner
   * words before their 'took' message arrives, or from that message (which, sent first,
   * arrives before their exit even when they vacated the seat again by dying).
   */
  private adopt(): void {
    for (const t of this.live) {
      if (t.role.kind !== 'standby' || t.seat >= 0) continue;
      for (let seat = 0; seat < this.plan.seats; seat++) {
        if (Atomics.load(this.control.words, seatWord(seat, SEAT_OWNER)) === t.threadId) {
          this.assign(t, seat);
          break;
        }
      }
    }
  }

  private assign(standby: Tracked, seat: number): void {
    if (standby.seat >= 0) return;
    standby.seat = seat;
    this.vacantSince.delete(seat);
    this.restartCounts[seat]++;
    const now = performance.now();
    // Another death before a new standby could be ready: keep one more from now on.
    if (now - this.lastTakeover < STANDBY_READY_MS) this.growPool();
    this.lastTakeover = now;
    // one short now: its successor starts once this heal is over
    this.refillTimer ??= setTimeout(() => this.refill(), REFILL_AFTER_HEAL_MS);
  }

  /** Starts the standbys a takeover left the pool short of. */
  private refill(): void {
    clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
    this.fillPool();
  }

  /** Idle standbys, ready or starting. */
  private get idleStandbys(): Tracked[] {
    return [...this.live].filter((t) => t.role.kind === 'standby' && t.seat < 0 && !t.retired);
  }

  /** Keeps one more standby (started by the caller's fillPool()), up to MAX_EXTRA_STANDBYS more than asked for. */
  private growPool(): void {
    if (this.standbyCount === 0) return;
    this.poolSize = Math.min(this.standbyCount + MAX_EXTRA_STANDBYS, this.poolSize + 1);
  }

  /** Starts standbys until the pool holds `poolSize`. */
  private fillPool(): void {
    if (!this.running) return;
    for (let n = this.idleStandbys.length; n < this.poolSize; n++) this.spawn({ kind: 'standby' });
  }

  /** A quiet pipeline lets one extra standby go per POOL_QUIET_MS. */
  private shrinkPool(): void {
    if (!this.running || this.poolSize <= this.standbyCount || performance.now() - this.lastTakeover < POOL_QUIET_MS) return;
    this.adopt();
    const idle = this.idleStandbys.filter((t) => t.ready);
    if (idle.length === 0) return;
    this.poolSize--;
    this.lastTakeover = performance.now(); // the next one after another quiet period
    if (idle.length <= this.poolSize) return;
    idle[0].retired = true;
    retire(idle[0].resume, this.control.words);
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
      // Named by its last 'loading' message, which arrived before its exit: a standby loads every stage's module.
      const onExit = (code: number) =>
        done(
          new StageLoadError(
            tracked.loading ?? stageOfSeat(this.plan, Math.max(0, tracked.seat)).stage.name,
            `a worker exited (code ${code}) while loading the stage's module; look for process.exit() or an error thrown at the module's top level`,
          ),
        );
      tracked.worker.on('message', onMessage);
      tracked.worker.on('exit', onExit);
    });
  }

  private spawn(role: WorkerRole): Tracked {
    const own = role.kind === 'worker' ? stageOfSeat(this.plan, role.seat).stage.resourceLimits : undefined;
    const resourceLimits = own === undefined ? this.resourceLimits : { ...this.resourceLimits, ...own };
    const resume = createResumeRecord();
    const worker = new Worker(WORKER_URL, { workerData: { plan: this.plan, role, resume }, resourceLimits });
    const tracked: Tracked = {
      worker,
      role,
      threadId: worker.threadId,
      seat: role.kind === 'worker' ? role.seat : -1,
      ready: false,
      spillReceived: 0,
      resume,
      healCounted: false,
    };
    this.live.add(tracked);
    worker.on('message', (m: WorkerMessage) => this.message(tracked, m));
    worker.on('error', () => undefined); // the exit that follows is what counts
    worker.on('exit', () => this.exited(tracked));
    return tracked;
  }

  private message(tracked: Tracked, m: WorkerMessage): void {
    switch (m.type) {
      case 'loading':
        tracked.loading = m.stage;
        break;
      case 'ready':
        tracked.ready = true;
        tracked.spillPosted = m.spillPosted;
        break;
      case 'spill':
        tracked.spillReceived += m.events.length;
        this.onSpill(m);
        break;
      case 'took':
        this.assign(tracked, m.seat);
        break;
      case 'resumed':
        this.countHeal(tracked);
        // deaths close together: the refill waits for the last of their heals (or the timer)
        if (this.refillTimer !== undefined && this.healing === 0) this.refill();
        break;
      case 'load-error':
        if (this.running && tracked.role.kind === 'worker' && tracked.role.replacement) {
          this.broken = true; // another try would fail the same way, for ever
          this.onError(new StageLoadError(m.stage, `a replacement worker could not load its module (${m.message}); the stage is down`));
        }
        break;
      default:
        break;
    }
  }

  /** Counts the heal `tracked` ended, once it recorded it. */
  private countHeal(tracked: Tracked): void {
    if (tracked.healCounted) return;
    const resume = readResume(tracked.resume);
    if (resume === undefined) return;
    tracked.healCounted = true;
    const heal = { seat: resume.seat, ms: resume.at - resume.diedAt, standby: tracked.role.kind === 'standby' };
    this.healed.push(heal);
    this.onHeal(heal);
  }

  private exited(tracked: Tracked): void {
    this.countHeal(tracked); // one that died on its first event may have recorded its heal only
    this.adopt(); // a standby that took a seat and died before saying so
    this.live.delete(tracked);
    const killedAt = this.killedAt.get(tracked.worker);
    this.killedAt.delete(tracked.worker);
    const seat = tracked.seat;
    if (seat < 0) {
      if (!tracked.retired) this.fillPool(); // an idle standby died: keep the pool full
      return;
    }
    const { words, stats } = this.control;
    Atomics.compareExchange(words, seatWord(seat, SEAT_CURSOR_LOCK), tracked.threadId, 0); // it ended inside a cursor commit
    if (!this.running) return;
    // A worker ended without its exit hook (terminate(), out of memory) still owns its
    // seat: hand it over now. One killed from outside was not killed by the event in its
    // hands; one that died of itself was.
    if (Atomics.load(words, seatWord(seat, SEAT_OWNER)) === tracked.threadId) this.settleDeath(tracked, killedAt !== undefined);
    const diedAt = killedAt ?? wallClock();
    const token = tracked.role.kind === 'worker' ? tracked.role.token : 0;
    if (vacate(words, stats, seat, tracked.threadId, diedAt) || (token < 0 && vacate(words, stats, seat, token, diedAt))) {
      this.vacantSince.set(seat, performance.now());
    }
    if (Atomics.load(words, seatWord(seat, SEAT_OWNER)) === VACANT && !this.vacantSince.has(seat)) this.vacantSince.set(seat, performance.now()); // its exit hook vacated it
    this.sweep();
  }

  /**
   * Starts a new worker for each vacant seat that more vacancies than idle standbys leave
   * over, or that no standby took within STANDBY_GRACE_MS; runs again while any is vacant.
   */
  private sweep(): void {
    clearTimeout(this.sweepTimer);
    if (!this.running || this.broken) return;
    this.adopt();
    const words = this.control.words;
    let idle = 0;
    let starting = 0;
    for (const t of this.idleStandbys) {
      if (t.ready) idle++;
      else starting++;
    }
    const now = performance.now();
    for (const [seat, since] of this.vacantSince) {
      if (Atomics.load(words, seatWord(seat, SEAT_OWNER)) !== VACANT) {
        this.vacantSince.delete(seat); // taken: by a standby (adopted above or soon) or a new worker
        this.shortOf.delete(seat);
        continue;
      }
      // standbys never take a stage with resourceLimits of its own: no grace to wait out
      const standbyMayTake = stageOfSeat(this.plan, seat).stage.resourceLimits === undefined;
      if (standbyMayTake && idle > 0 && now - since < STANDBY_GRACE_MS) {
        idle--;
        continue;
      }
      if (standbyMayTake && idle === 0 && !this.shortOf.has(seat)) {
        this.shortOf.add(seat);
        // a death found no standby ready: keep one more from now on, started at once
        this.growPool();
        this.fillPool();
        starting = this.idleStandbys.length - idle;
      }
      if (standbyMayTake && starting > 0 && now - since < STARTING_GRACE_MS) {
        starting--;
        continue;
      }
      this.shortOf.delete(seat);
      const token = this.nextToken--;
      if (takeSeat(words, seat, token)) {
        this.vacantSince.delete(seat);
        this.restartCounts[seat]++;
        this.spawn({ kind: 'worker', seat, replacement: true, token });
      }
    }
    if (this.vacantSince.size > 0) this.sweepTimer = setTimeout(() => this.sweep(), 5);
  }
}
