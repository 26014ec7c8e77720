// A stage doing a calibrated amount of work per event (see ../work.ts), then passing it on.
import type { StageContext } from 'ringbus';
import { work } from '../work.js';

export function handler(value: number, ctx: StageContext): void {
  const { to, iterations } = ctx.options as { to: string; iterations: number };
  work(value, iterations);
  ctx.emit(to, value);
}
