// Raw events sent round a loop once as they came: the view of the ring itself is emitted,
// first into the loop ('again'), then out.
import type { StageContext } from 'ringbus';

export function handler(value: Uint8Array, ctx: StageContext): void {
  ctx.emit(ctx.topic === 'in' ? 'again' : 'out', value);
}
