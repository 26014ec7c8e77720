// Tags each event with the worker that handled it.
import type { StageContext } from 'ringbus';

export function handler(value: { id: number }, ctx: StageContext): void {
  ctx.emit('out', { id: value.id, worker: ctx.worker });
}
