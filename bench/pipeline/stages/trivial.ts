// The trivial stage: passes each event on, unchanged, to its one output topic.
import type { StageContext } from 'ringbus';

export function handler(value: unknown, ctx: StageContext): void {
  ctx.emit((ctx.options as { to: string }).to, value);
}
