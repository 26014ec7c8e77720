export function handler(item, ctx) {
  ctx.emit('indexed', { id: item.id, key: `${item.upper}/${item.length}` });
}
