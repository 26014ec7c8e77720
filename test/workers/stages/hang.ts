// Passes events on; an event with `hang` never finishes: 'busy' loops for ever, 'async'
// returns a promise that never settles while a timer keeps the thread alive (as a reply
// that never comes on an open socket would: with nothing pending, the thread would end).
import type { StageContext } from 'ringbus';

export function handler(value: { id: number; hang?: 'busy' | 'async' }, ctx: StageContext): void | Promise<void> {
  if (value.hang === 'busy') for (;;);
  if (value.hang === 'async') return new Promise<void>(() => void setInterval(() => undefined, 1000));
  ctx.emit('out', value);
}
