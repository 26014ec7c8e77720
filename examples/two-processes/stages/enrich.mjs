export function handler(item, ctx) {
  ctx.emit('enriched', { ...item, upper: item.word.toUpperCase(), length: item.word.length });
}
