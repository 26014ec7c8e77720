// Kills its worker (process.exit) on every event marked `die`, however often it is retried.
import type { StageContext } from 'ringbus';

export function handler(value: { id: number; die?: boolean }, ctx: StageContext): void {
  if (value.die) process.exit(9);
  ctx.emit('out', value);
}
