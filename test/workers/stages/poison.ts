// Fails on events marked poison; passes the others on.
import type { StageContext } from 'ringbus';

export function handler(value: { id: number; poison?: boolean }, ctx: StageContext): void {
  if (value.poison) throw new Error(`poison event ${value.id} (attempt ${ctx.attempt})`);
  ctx.emit('out', value);
}
