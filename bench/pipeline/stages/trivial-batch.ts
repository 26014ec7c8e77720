// The trivial stage as a batch handler: passes the whole batch on, unchanged, in one
// emitMany(). With the raw codec the values are views of the ring's records.
import type { BatchContext } from 'ringbus';

export function batch(values: readonly unknown[], ctx: BatchContext): void {
  ctx.emitMany((ctx.options as { to: string }).to, values);
}
