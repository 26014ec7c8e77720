// AbortSignal support for the calls that wait without blocking: publishAsync and the other
// async publishes, drain(), reader.waitAsync() and async iteration.
import { describe } from './describe.js';
import { InvalidOptionError } from './errors.js';
import type { AbortOptions } from './types.js';
import type { WaitSite, WaitStrategy } from './wait-strategy.js';

export type { AbortOptions } from './types.js';

/** The `signal` option, checked: undefined or an AbortSignal. */
export function signalOption(what: string, options: AbortOptions | undefined): AbortSignal | undefined {
  const signal = options?.signal;
  if (signal === undefined || signal instanceof AbortSignal) return signal;
  throw new InvalidOptionError(`${what} signal must be an AbortSignal, got ${describe(signal)}`);
}

/**
 * `strategy.waitAsync`, ended early by `signal`: an abort counts as ready, and wakes the
 * sleepers on the site's futex so that a wait asleep sees it at once (the others re-check
 * and sleep again). The caller tells an abort from readiness by `signal.aborted`, after it
 * has looked at what `ready()` did: `ready()` may have claimed space before the abort.
 */
export async function waitAbortable(
  strategy: WaitStrategy,
  site: WaitSite,
  ready: () => boolean,
  deadline: number,
  signal: AbortSignal | undefined,
): Promise<boolean> {
  if (signal === undefined) return strategy.waitAsync(site, ready, deadline);
  if (signal.aborted) return true;
  const wake = () => Atomics.notify(site.words, site.futex);
  signal.addEventListener('abort', wake, { once: true });
  try {
    return await strategy.waitAsync(site, () => signal.aborted || ready(), deadline);
  } finally {
    signal.removeEventListener('abort', wake);
  }
}
