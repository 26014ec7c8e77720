// Emits each event twice (copies a and b) into 'out' and, for an event marked `flaky`,
// into 'side' too, then throws on the first attempt of a flaky event: what that attempt
// emitted must be taken back, in both rings.
import type { StageContext } from 'ringbus';

export function handler(value: { id: number; flaky?: boolean }, ctx: StageContext): void {
  ctx.emit('out', { id: value.id, copy: 'a' });
  if (value.flaky) ctx.emit('side', { id: value.id });
  ctx.emit('out', { id: value.id, copy: 'b' });
  if (value.flaky && ctx.attempt === 1) throw new Error(`flaky ${value.id}`);
}
