// Every kind of handler under the default names and under other names: each emits, for
// every event, { via: the export's name, id } into options.to, so a test sees which one the
// stage declaration picked.
import type { BatchContext, RecordBatch, StageContext } from 'ringbus';

type Item = { id: number };
const to = (ctx: { options: unknown }) => (ctx.options as { to: string }).to;

function recordsVia(via: string) {
  return (batch: RecordBatch, ctx: BatchContext): void => {
    for (let i = 0; i < batch.length; i++) ctx.emit(to(ctx), { via, id: (batch.value(i) as Item).id });
  };
}

function batchVia(via: string) {
  return (values: readonly Item[], ctx: BatchContext): void =>
    ctx.emitMany(
      to(ctx),
      values.map((v) => ({ via, id: v.id })),
    );
}

function handlerVia(via: string) {
  return (value: Item, ctx: StageContext): void => ctx.emit(to(ctx), { via, id: value.id });
}

export const records = recordsVia('records');
export const recordsAlt = recordsVia('recordsAlt');
export const batch = batchVia('batch');
export const batchAlt = batchVia('batchAlt');
export const handler = handlerVia('handler');
export const handlerAlt = handlerVia('handlerAlt');
export default handlerVia('default');
