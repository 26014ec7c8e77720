// Passes events on; a marker event ({ id, die: k, at: stage }) makes the stage `at` call
// process.exit() from inside its handler (or loop for ever, with `hang`) the first time any
// of its workers meets marker k (shared flag k), so the replacement, which gets the marker
// again, passes it on.
import type { StageContext } from 'ringbus';
import { work } from '../work.js';

export interface HealEvent {
  id: number;
  die?: number;
  at?: string;
  /** Loop for ever instead of exiting (for a stage with handlerTimeoutMs). */
  hang?: boolean;
}

export function handler(value: HealEvent, ctx: StageContext): void {
  const { to, flags, iterations } = ctx.options as { to: string; flags: Int32Array; iterations?: number };
  if (iterations !== undefined) work(value.id, iterations); // a busy stage (heal 'loaded')
  if (value.die !== undefined && value.at === ctx.stage && Atomics.compareExchange(flags, value.die, 0, 1) === 0) {
    if (value.hang) for (;;);
    process.exit(9);
  }
  ctx.emit(to, value);
}
