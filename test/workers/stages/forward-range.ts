// A records handler that forwards each event on its own, with forward(to, i, i + 1),
// except an event that holds `bad: { from, to }`: for it the handler calls
// forward(to, from, to) as given ('past' for `to`: the batch's length + 1), which must
// throw InvalidOptionError, failing the attempt.
import type { BatchContext, RecordBatch } from 'ringbus';

interface Item {
  id: number;
  bad?: { from?: number; to?: number | 'past' };
}

export function records(batch: RecordBatch, ctx: BatchContext): void {
  const { to } = ctx.options as { to: string };
  for (let i = 0; i < batch.length; i++) {
    const { bad } = batch.value(i) as Item;
    if (bad === undefined) ctx.forward(to, i, i + 1);
    else ctx.forward(to, bad.from as number, bad.to === 'past' ? batch.length + 1 : (bad.to as number));
  }
}
