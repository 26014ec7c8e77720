// Dies once, outside the handler's try, when it meets the event options.at: by
// process.exit() or by an uncaught error thrown from a timer. A shared flag (the options'
// SharedArrayBuffer) makes the replacement, which gets the event again, pass it on.
import type { StageContext } from 'ringbus';

interface CrashOptions {
  at: number;
  how: 'exit' | 'throw';
  flag: Int32Array;
}

export async function handler(value: { id: number }, ctx: StageContext): Promise<void> {
  const { at, how, flag } = ctx.options as CrashOptions;
  if (value.id === at && Atomics.compareExchange(flag, 0, 0, 1) === 0) {
    if (how === 'exit') process.exit(3);
    await new Promise<never>(() =>
      setTimeout(() => {
        throw new Error('crash outside the handler');
      }, 0),
    );
  }
  ctx.emit('out', value);
}
