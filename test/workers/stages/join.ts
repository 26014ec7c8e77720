// Joins each id's 'left' and 'right' events into one 'out' event; a side seen twice is a
// duplicate delivery, which it reports by throwing (the event then goes to dead letters).
import type { StageContext } from 'ringbus';

const halves = new Map<number, { left?: number; right?: number }>();

export function handler(value: { id: number; x: number }, ctx: StageContext): void {
  const side = ctx.topic === 'left' ? 'left' : 'right';
  const entry = halves.get(value.id) ?? {};
  if (entry[side] !== undefined) throw new Error(`${side} of ${value.id} delivered twice`);
  entry[side] = value.x;
  if (entry.left !== undefined && entry.right !== undefined) {
    halves.delete(value.id);
    ctx.emit('out', { id: value.id, left: entry.left, right: entry.right });
  } else {
    halves.set(value.id, entry);
  }
}
