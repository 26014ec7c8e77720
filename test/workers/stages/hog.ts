// Passes events on; an event with `hog` allocates without bound until its worker runs out
// of heap (its stage's resourceLimits end it).
import type { StageContext } from 'ringbus';

export function handler(value: { id: number; hog?: boolean }, ctx: StageContext): void {
  if (value.hog) {
    const kept: number[][] = [];
    for (;;) kept.push(new Array(100_000).fill(kept.length));
  }
  ctx.emit('out', value);
}
