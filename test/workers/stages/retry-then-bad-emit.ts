// Fails the first attempt at events marked `retry`; then emits, for events marked `bad`, a
// value MessagePack cannot encode (a symbol), and for the others the event itself.
import type { StageContext } from 'ringbus';

export function handler(value: { id: number; retry: boolean; bad: boolean }, ctx: StageContext): void {
  if (value.retry && ctx.attempt === 1) throw new Error('first attempt');
  ctx.emit('out', value.bad ? Symbol('not encodable') : value);
}
