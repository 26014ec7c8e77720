// emit() and forward() mixed in one handler call, into one topic. options.mode:
//   'each': for each event, a marker (its id, or with the raw codec 0xee + its bytes),
//            then the event itself: forward(to, i, i + 1);
//   'runs': a head marker (n, half), the events [half, n), a mid marker, the events
//            [0, half), a tail marker (n): forward() with explicit ranges.
// Exported as a records handler (`records`) and as a batch handler (`batchMixed`), which a
// stage picks with batchExport.
import type { BatchContext, RecordBatch } from 'ringbus';

interface Options {
  to: string;
  mode: 'each' | 'runs';
  raw?: boolean;
}

function run(n: number, valueAt: (i: number) => unknown, ctx: BatchContext): void {
  const { to, mode, raw } = ctx.options as Options;
  if (mode === 'each') {
    for (let i = 0; i < n; i++) {
      const v = valueAt(i);
      ctx.emit(to, raw ? Uint8Array.of(0xee, ...(v as Uint8Array)) : { marker: (v as { id: number }).id });
      ctx.forward(to, i, i + 1);
    }
    return;
  }
  const half = n >> 1;
  ctx.emit(to, raw ? Uint8Array.of(0xaa, n & 0xff, n >> 8, half & 0xff, half >> 8) : { head: n, half });
  ctx.forward(to, half, n);
  ctx.emit(to, raw ? Uint8Array.of(0xbb) : { mid: true });
  ctx.forward(to, 0, half);
  ctx.emit(to, raw ? Uint8Array.of(0xcc, n & 0xff, n >> 8) : { tail: n });
}

export function records(batch: RecordBatch, ctx: BatchContext): void {
  run(batch.length, (i) => batch.value(i), ctx);
}

export function batchMixed(values: readonly unknown[], ctx: BatchContext): void {
  run(values.length, (i) => values[i], ctx);
}
