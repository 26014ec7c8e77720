// Emits each event, then, for an event with `after`, waits (up to 5 s) until the main
// thread sets shared flag `after`: it does so once it has read event `after` at the output.
// So it can only go on if what the batch emitted before it was already published.
import type { StageContext } from 'ringbus';

export function handler(value: { id: number; after?: number }, ctx: StageContext): void {
  const { flags } = ctx.options as { flags: Int32Array };
  const waited = value.after === undefined ? 'ok' : Atomics.wait(flags, value.after, 0, 5000);
  ctx.emit('out', { id: value.id, waited });
}
