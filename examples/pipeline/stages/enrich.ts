// stages/enrich.ts: two workers share this stage (concurrency: 2)
import type { StageContext } from 'ringbus';
export function handler(item: { id: number; name: string }, ctx: StageContext) {
  ctx.emit('enriched', { ...item, length: item.name.length });
}
