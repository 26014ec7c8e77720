// An async handler: awaits a microtask and a timer turn now and then before emitting.
import type { StageContext } from 'ringbus';

export async function handler(value: { id: number }, ctx: StageContext): Promise<void> {
  await Promise.resolve();
  if (value.id % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  ctx.emit('out', { id: value.id, async: true });
}
