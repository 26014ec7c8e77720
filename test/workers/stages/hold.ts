// Holds every event until options.gate[0] is set (a stuck handler), then passes it on.
import type { StageContext } from 'ringbus';

export function handler(value: unknown, ctx: StageContext): void {
  const { gate } = ctx.options as { gate: Int32Array };
  const until = Date.now() + 30_000; // never longer than a test
  while (Atomics.load(gate, 0) === 0 && Date.now() < until) Atomics.wait(gate, 0, 0, 50);
  ctx.emit('out', value);
}
