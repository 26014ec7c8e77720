// Passes events on; dies (process.exit, or an uncaught error) on an event whose `die`
// field is set, the first time that event is met (the shared flag at index `die`).
import type { StageContext } from 'ringbus';

export function handler(value: { id: number; die?: number; how?: 'exit' | 'throw' }, ctx: StageContext): Promise<never> | undefined {
  const { flags } = ctx.options as { flags: Int32Array };
  if (value.die !== undefined && Atomics.compareExchange(flags, value.die, 0, 1) === 0) {
    if (value.how === 'throw')
      setImmediate(() => {
        throw new Error('crash');
      });
    else process.exit(7);
    return new Promise<never>(() => undefined); // dies before handling anything else
  }
  ctx.emit('out', value);
  return undefined;
}
