import { describe } from './describe.js';
import { InvalidOptionError } from './errors.js';
import { knownOptions } from './validate.js';
import type { PhasedOptions, WaitSite, WaitStrategy, WaitStrategyName } from './types.js';

export type { PhasedOptions, WaitSite, WaitStrategy, WaitStrategyName } from './types.js';

const SPINS = 100;

/** Sleeps on the futex until notified, `ready()` or the deadline. */
function sleepSync(site: WaitSite, ready: () => boolean, deadline: number): boolean {
  const { words, futex, waiters } = site;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return ready();
    Atomics.add(words, waiters, 1);
    try {
      const seen = Atomics.load(words, futex);
      if (ready()) return true;
      Atomics.wait(words, futex, seen, Math.min(left, site.sliceMs));
    } finally {
      Atomics.sub(words, waiters, 1); // also when ready() throws (a bus closed while waiting)
    }
    if (ready()) return true;
  }
}

async function sleepAsync(site: WaitSite, ready: () => boolean, deadline: number): Promise<boolean> {
  const { words, futex, waiters } = site;
  for (;;) {
    const left = deadline - performance.now();
    if (left <= 0) return ready();
    Atomics.add(words, waiters, 1);
    try {
      const seen = Atomics.load(words, futex);
      if (ready()) return true;
      const slice = Math.min(left, site.sliceMs);
      const result = Atomics.waitAsync(words, futex, seen, slice);
      if (result.async) {
        await wokenOrElapsed(result.value, slice);
      } else {
        // The futex moved before we slept: give the event loop a turn before looking again.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } finally {
      Atomics.sub(words, waiters, 1);
    }
    if (ready()) return true;
  }
}

/**
 * Settles when `woken` does or after `ms`, whichever comes first, holding the event loop
 * open meanwhile. V8 settles a timed-out waitAsync from a delayed platform task whose libuv
 * timer is unreferenced and starts only when the platform next flushes its queue: a JS
 * timer merely kept alive for the same length can fire first, and then nothing holds the
 * loop open while the wait is still pending, so Node exits in the middle of it (code 13 at
 * the top level). Here our own timer ends the slice; V8's waiter lapses on its own.
 */
function wokenOrElapsed(woken: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    void woken.then(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function spinFor(ready: () => boolean, spins: number): boolean {
  for (let i = 0; i < spins; i++) if (ready()) return true;
  return false;
}

/** Re-checks without sleeping: lowest latency, one busy core per waiting thread. */
export const spin: WaitStrategy = {
  name: 'spin',
  waitSync(_site, ready, deadline) {
    while (performance.now() < deadline) if (spinFor(ready, SPINS)) return true;
    return ready();
  },
  async waitAsync(_site, ready, deadline) {
    while (performance.now() < deadline) {
      if (spinFor(ready, SPINS)) return true;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return ready();
  },
};

/** Spins briefly, then sleeps in short slices: good latency without starving other threads. */
export function yielding(sliceMs = 0.05): WaitStrategy {
  if (typeof sliceMs !== 'number' || !(sliceMs > 0))
    throw new InvalidOptionError(`yielding(sliceMs) needs a positive number of milliseconds, got ${describe(sliceMs)}`);
  return {
    name: 'yield',
    waitSync(site, ready, deadline) {
      if (spinFor(ready, SPINS)) return true;
      return sleepSync({ ...site, sliceMs: Math.min(site.sliceMs, sliceMs) }, ready, deadline);
    },
    waitAsync(site, ready, deadline) {
      if (spinFor(ready, SPINS)) return Promise.resolve(true);
      return sleepAsync({ ...site, sliceMs: Math.min(site.sliceMs, sliceMs) }, ready, deadline);
    },
  };
}

/** Waits in a row whose polling caught nothing, after which phased() sleeps at once. */
const MISSES = 4;
/** While it does, one wait in PROBE polls first anyway. */
const PROBE = 8;

/** Of one reader's or producer's waits under phased(): how its polling has been faring. */
interface Streak {
  misses: number;
  skipped: number;
}

function caught(streak: Streak): true {
  streak.misses = 0;
  streak.skipped = 0;
  return true;
}

/**
 * Spins, then naps, then blocks (the Disruptor's PhasedBackoffWaitStrategy, Agrona's
 * BackoffIdleStrategy). While events keep coming, the waiter is awake when the next one
 * lands: microseconds, and producers find nobody to notify (no syscall on their side).
 * Idle, it sleeps on the futex after about a millisecond: no CPU. Where the polling stops
 * paying (events further apart than it lasts), it is skipped (see worthPolling()).
 */
export function phased(options: PhasedOptions = {}): WaitStrategy {
  knownOptions('phased() options', options, ['spinMicros', 'yieldMicros', 'napMicros']);
  const micros = (name: keyof PhasedOptions, fallback: number) => {
    const value = options[name] ?? fallback;
    if (typeof value !== 'number' || !(value >= 0) || !Number.isFinite(value))
      throw new InvalidOptionError(`phased({ ${name} }) must be a number of microseconds ≥ 0, got ${describe(value)}`);
    return value / 1000;
  };
  const spinMs = micros('spinMicros', 100);
  const yieldMs = micros('yieldMicros', 1000);
  const napMs = Math.max(0.001, micros('napMicros', 50));
  const nap = new Int32Array(new SharedArrayBuffer(4));
  const streaks = new WeakMap<WaitSite, Streak>();
  /**
   * Whether this wait should poll (and nap) first: not after MISSES waits in a row whose
   * polling caught nothing, except every PROBE-th, to find out whether it pays again. On a
   * machine whose cores are all busy, a reader whose events come further apart than the
   * poll burned up to 1.1 ms of a core per wait (20 µs on an event loop), taken from the
   * threads doing the work.
   */
  const worthPolling = (site: WaitSite): Streak | undefined => {
    let streak = streaks.get(site);
    if (streak === undefined) streaks.set(site, (streak = { misses: 0, skipped: 0 }));
    if (streak.misses < MISSES || ++streak.skipped % PROBE === 0) return streak;
    return undefined;
  };
  /** Polls until `ready()` or `until`; false once `until` has passed. */
  const poll = (ready: () => boolean, until: number): boolean => {
    for (;;) {
      if (spinFor(ready, SPINS)) return true;
      if (performance.now() >= until) return false;
    }
  };
  return {
    name: 'phased',
    waitSync(site, ready, deadline) {
      if (ready()) return true;
      const streak = worthPolling(site);
      if (streak !== undefined) {
        const started = performance.now();
        if (poll(ready, Math.min(deadline, started + spinMs))) return caught(streak);
        const napUntil = Math.min(deadline, started + spinMs + yieldMs);
        for (let now = performance.now(); now < napUntil; now = performance.now()) {
          Atomics.wait(nap, 0, 0, Math.min(napMs, napUntil - now));
          if (ready()) return caught(streak);
        }
        streak.misses++;
      }
      return sleepSync(site, ready, deadline);
    },
    // On an event loop: a short poll only, then sleep without blocking the loop.
    waitAsync(site, ready, deadline) {
      if (ready()) return Promise.resolve(true);
      const streak = worthPolling(site);
      if (streak !== undefined) {
        if (poll(ready, Math.min(deadline, performance.now() + Math.min(spinMs, 0.02)))) return Promise.resolve(caught(streak));
        streak.misses++;
      }
      return sleepAsync(site, ready, deadline);
    },
  };
}

/** Sleeps on Atomics.wait until notified: no CPU while idle, a wake-up costs microseconds. */
export const block: WaitStrategy = {
  name: 'block',
  waitSync: (site, ready, deadline) => ready() || sleepSync(site, ready, deadline),
  waitAsync: (site, ready, deadline) => (ready() ? Promise.resolve(true) : sleepAsync(site, ready, deadline)),
};

/** Atomics.waitAsync: the event loop stays free while waiting (the main thread's choice). */
export const async: WaitStrategy = {
  name: 'async',
  waitSync: block.waitSync,
  waitAsync: block.waitAsync,
};

const defaultStrategy = phased();

/** The strategy a name stands for; no name is the default, phased(). */
export function resolveWaitStrategy(wait: WaitStrategyName | WaitStrategy | undefined): WaitStrategy {
  if (wait === undefined || wait === 'phased') return defaultStrategy;
  if (wait === 'block') return block;
  if (wait === 'spin') return spin;
  if (wait === 'yield') return yielding();
  if (wait === 'async') return async;
  if (typeof wait === 'object' && wait !== null && typeof wait.waitSync === 'function' && typeof wait.waitAsync === 'function') return wait;
  throw new InvalidOptionError(`wait must be 'phased', 'spin', 'yield', 'block', 'async' or a WaitStrategy { waitSync, waitAsync }; got ${describe(wait)}`);
}
