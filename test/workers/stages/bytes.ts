// Raw events: adds 1 to every byte (into a new array: the value is a view of the ring);
// fails on events whose first byte is 255.
import type { StageContext } from 'ringbus';

export function handler(value: Uint8Array, ctx: StageContext): void {
  if (!(value instanceof Uint8Array)) throw new Error(`expected bytes, got ${typeof value}`);
  if (value[0] === 255) throw new Error('byte 255');
  const out = new Uint8Array(value.length);
  for (let i = 0; i < value.length; i++) out[i] = value[i] + 1;
  ctx.emit('out', out);
}
