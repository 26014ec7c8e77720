// Which wait strategy the library uses when none is given. The rows named for the default
// (latency-raw64's `ring`, idle-cpu's `default`) pass no `wait` at all, so they measure
// whatever the default is; this only names it in the table and the JSON. It asks the built
// library's own resolveWaitStrategy(undefined), which 'ringbus' does not export.
import type { WaitName } from './flow.js';

/** The wait strategies a bench row can name (the default is any of them, or another). */
export const STRATEGIES: readonly WaitName[] = ['spin', 'yield', 'block'];

export async function defaultWaitName(): Promise<string> {
  const url = new URL('./wait-strategy.js', import.meta.resolve('ringbus'));
  const lib = (await import(url.href)) as { resolveWaitStrategy(wait: undefined): { name: string } };
  return lib.resolveWaitStrategy(undefined).name;
}
