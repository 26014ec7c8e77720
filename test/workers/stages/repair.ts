// Repairs dead letters: sends the value of each out again, marked repaired.
import type { DeadLetter, StageContext } from 'ringbus';

export function handler(letter: DeadLetter, ctx: StageContext): void {
  ctx.emit('out', { repaired: letter.value, valueOmitted: letter.valueOmitted === true });
}
