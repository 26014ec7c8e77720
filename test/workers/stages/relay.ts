// Emits each event unchanged into options.to.
import type { StageContext } from 'ringbus';

export function handler(value: unknown, ctx: StageContext): void {
  ctx.emit((ctx.options as { to: string }).to, value);
}
