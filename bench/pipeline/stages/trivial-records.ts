// The trivial stage as a records handler: passes the whole batch on, unchanged, with one
// forward(): the records are copied ring to ring, with no value made per event.
import type { BatchContext, RecordBatch } from 'ringbus';

export function records(_batch: RecordBatch, ctx: BatchContext): void {
  ctx.forward((ctx.options as { to: string }).to);
}
