// stages/index.ts
import type { StageContext } from 'ringbus';
export function handler(item: { id: number; name: string; length: number }, ctx: StageContext) {
  ctx.emit('indexed', { id: item.id, key: `${item.name}#${item.length}` });
}
