// Fails every event: with an error whose message is options.messageLength characters long,
// or by emitting into a topic the stage does not declare (options.undeclared).
import type { StageContext } from 'ringbus';

export function handler(_value: unknown, ctx: StageContext): void {
  const { messageLength, undeclared } = ctx.options as { messageLength?: number; undeclared?: boolean };
  if (undeclared) ctx.emit('nowhere', 1);
  throw new Error(`m${'e'.repeat((messageLength ?? 10) - 2)}.`);
}
