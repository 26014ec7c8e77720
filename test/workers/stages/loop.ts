// Sends each event round the loop until it has made options.rounds rounds, then out.
import type { StageContext } from 'ringbus';

export function handler(value: { id: number; round: number }, ctx: StageContext): void {
  const { rounds } = ctx.options as { rounds: number };
  if (value.round < rounds) ctx.emit('again', { id: value.id, round: value.round + 1 });
  else ctx.emit('out', value);
}
