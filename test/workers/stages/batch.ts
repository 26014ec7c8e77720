// A batch handler: doubles `x` of every event of the batch and emits the results in bulk.
// An event with `fail` makes the batch throw (every time it is in the call); one with
// `die: k` makes the worker exit the first time it meets it (shared flag k), one with
// `exit` makes it exit every time.
import type { BatchContext } from 'ringbus';

export interface Item {
  id: number;
  x: number;
  fail?: boolean;
  die?: number;
  exit?: boolean;
  /** The batch sizes the handler was called with, as seen by the output. */
  size?: number;
}

export function batch(values: readonly Item[], ctx: BatchContext): void {
  const { to, flags } = ctx.options as { to: string; flags?: Int32Array };
  if (ctx.topics.length !== values.length || ctx.seqs.length !== values.length) throw new Error('topics and seqs do not match the values');
  for (const v of values) {
    if (v.fail) throw new Error(`poison ${v.id}`);
    if (v.exit) process.exit(7);
    if (v.die !== undefined && flags && Atomics.compareExchange(flags, v.die, 0, 1) === 0) process.exit(7);
  }
  ctx.emitMany(
    to,
    values.map((v) => ({ id: v.id, x: v.x * 2, size: values.length })),
  );
}
