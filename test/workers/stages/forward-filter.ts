// A per-event handler that passes events on unchanged with ctx.forward(): an object with
// `keep: false` is dropped, everything else (other objects, scalars, raw bytes) is passed
// on. An object with `flaky` forwards, then throws, on its first attempt (the forward must
// be taken back); one with `twice` is forwarded into options.to and options.also.
import type { StageContext } from 'ringbus';

interface Flags {
  keep?: boolean;
  flaky?: boolean;
  twice?: boolean;
  id?: number;
}

export function handler(value: unknown, ctx: StageContext): void {
  const { to, also } = ctx.options as { to: string; also?: string };
  const flags: Flags = typeof value === 'object' && value !== null && !(value instanceof Uint8Array) && !Array.isArray(value) ? (value as Flags) : {};
  if (flags.flaky && ctx.attempt === 1) {
    ctx.forward(to);
    throw new Error(`flaky ${flags.id}`);
  }
  if (flags.keep === false) return;
  ctx.forward(to);
  if (flags.twice && also !== undefined) ctx.forward(also);
}
