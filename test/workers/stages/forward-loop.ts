// A records handler in a feedback loop: an event from 'in' is forwarded into 'again' (back
// into this stage's own ring), one from 'again' into 'out'; each event goes round once.
import type { BatchContext, RecordBatch } from 'ringbus';

export function records(batch: RecordBatch, ctx: BatchContext): void {
  for (let i = 0; i < batch.length; i++) ctx.forward(batch.topic(i) === 'in' ? 'again' : 'out', i, i + 1);
}
