// Emits into a topic its stage did not declare.
import type { StageContext } from 'ringbus';

export function handler(value: unknown, ctx: StageContext): void {
  ctx.emit('nowhere', value);
}
