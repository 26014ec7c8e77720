// A records handler that passes its whole batch on with forward(), decoding nothing (it
// forwards records of any codec, a user's included); with `probe`, it first tries to change
// the batch's length and emits what that did into `probe`.
import type { BatchContext, RecordBatch } from 'ringbus';

export function records(batch: RecordBatch, ctx: BatchContext): void {
  const { to, probe } = ctx.options as { to: string; probe?: string };
  if (probe !== undefined) {
    const before = batch.length;
    let outcome = 'assigned';
    try {
      (batch as { length: number }).length = before + 5;
    } catch (error) {
      outcome = (error as Error).name;
    }
    ctx.emit(probe, { outcome, before, after: batch.length });
  }
  ctx.forward(to);
}
