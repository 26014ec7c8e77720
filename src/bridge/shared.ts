import type { Bus } from '../bus.js';
import { InvalidOptionError } from '../errors.js';
import type { BridgeState } from './engine.js';

export interface BridgeStats {
  direction: 'out' | 'in';
  engine: string;
  state: BridgeState;
  /** Events stored in the engine (out) or published into the bus (in). */
  published: number;
  /** Out: sent again and dropped by the engine. In: redeliveries dropped at or below the last applied position. */
  duplicates: number;
  deadLetters: number;
  /** Batches tried again after the engine failed or was unreachable. */
  retries: number;
  /** In: times the newest progress marker was let go because other producers had filled the ring behind it (each opens a window for a duplicate batch after a crash). */
  markerReleases: number;
  /** Out: events and bytes of the bus the bridge has not yet stored in the engine. In: 0. */
  lagEvents: number;
  lagBytes: number;
  /** The last error the engine gave, kept while the bridge retries. */
  lastError: string | null;
}

/** A running bridge: stats(), close(), and `done`, which settles when it stops. */
export class Bridge {
  state: BridgeState = 'connecting';
  stopping = false;
  private abort: () => Promise<void> = async () => {};
  lastError: Error | null = null;
  readonly counters = { published: 0, duplicates: 0, deadLetters: 0, retries: 0, markerReleases: 0 };
  done: Promise<void> = Promise.resolve();

  /** @internal */
  constructor(
    readonly direction: 'out' | 'in',
    readonly engine: string,
    private readonly bus: Bus,
    private readonly readerName: string | null,
  ) {}

  /** @internal */
  setState(state: BridgeState): void {
    if (this.state !== 'closed' && this.state !== 'failed') this.state = state;
  }

  /** @internal Runs the loop; `cleanup` runs whatever way it ends. */
  run(loop: () => Promise<void>, cleanup: () => Promise<void>): void {
    this.abort = cleanup;
    this.done = (async () => {
      try {
        await loop();
        this.setState('closed');
      } catch (error) {
        this.setState('failed');
        this.lastError = error as Error;
        throw error;
      } finally {
        await cleanup().catch(() => {});
      }
    })();
    this.done.catch(() => {}); // seen through done or stats(); never an unhandled rejection
  }

  stats(): BridgeStats {
    let lagEvents = 0;
    let lagBytes = 0;
    if (this.readerName !== null) {
      const row = this.bus.stats().readers.find((r) => r.name === this.readerName);
      if (row !== undefined) [lagEvents, lagBytes] = [row.lagEvents, row.lagBytes];
    }
    return {
      direction: this.direction,
      engine: this.engine,
      state: this.state,
      ...this.counters,
      lagEvents,
      lagBytes,
      lastError: this.lastError === null ? null : this.lastError.message,
    };
  }

  /**
   * Stops after the batch in hand (stored and committed), then disconnects. A batch the
   * engine has not taken within `graceMs` (the server away) is left uncommitted: the next
   * bridge of this name sends it again.
   */
  async close({ graceMs = 2_000 }: { graceMs?: number } = {}): Promise<void> {
    this.stopping = true;
    const stopped = this.done.then(
      () => true,
      () => true,
    );
    if (!(await within(stopped, graceMs))) await this.abort().catch(() => {});
    await stopped;
  }
}

export function checkName(name: unknown): string {
  // 39: the outbound reader's name, `bridge-out:<name>@<13-digit epoch>`, must fit a reader slot's 64 bytes.
  if (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,39}$/.test(name)) {
    throw new InvalidOptionError(
      `a bridge name is 1 to 39 letters, digits, '_' or '-' (it names a durable consumer and prefixes message ids), got ${JSON.stringify(name)}`,
    );
  }
  return name;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** 50 ms, doubling up to 1 s. */
export function backoff(attempt: number): number {
  return Math.min(1000, 50 * 2 ** Math.min(attempt, 5));
}

/** Waits up to `ms` for `promise`; `undefined` at the timeout. */
export async function within<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let cancel = () => {};
  const timeout = new Promise<undefined>((resolve) => {
    const timer = setTimeout(resolve, ms);
    cancel = () => clearTimeout(timer);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    cancel();
  }
}
