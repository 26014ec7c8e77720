// A batch handler on the raw codec: each value is a view of its record in the ring; the
// first stage adds 1 to every byte in place of a copy (a new buffer), the views are emitted as they are by the others.
import type { BatchContext } from 'ringbus';

export function batch(values: readonly Uint8Array[], ctx: BatchContext): void {
  const { to, add } = ctx.options as { to: string; add: boolean };
  if (!add) return ctx.emitMany(to, values);
  for (const v of values) {
    const copy = new Uint8Array(v.length);
    for (let i = 0; i < v.length; i++) copy[i] = (v[i] + 1) & 255;
    ctx.emit(to, copy);
  }
}
