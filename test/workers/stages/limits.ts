// Reports the resourceLimits its worker was started with.
import { resourceLimits } from 'node:worker_threads';
import type { StageContext } from 'ringbus';

export function handler(value: { id: number }, ctx: StageContext): void {
  ctx.emit('out', { id: value.id, limits: resourceLimits });
}
