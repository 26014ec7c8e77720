// A batch handler on the raw codec: each value is a view of its record in the ring. With
// `add`, it emits a new buffer with every byte + 1; without, it emits the views as they are
// (copied into the next ring when the batch is published, before the commit frees them).
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
