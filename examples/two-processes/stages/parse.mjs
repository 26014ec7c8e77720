// "id:word" → { id, word }
export function handler(line, ctx) {
  const [id, word] = line.split(':');
  ctx.emit('parsed', { id: Number(id), word });
}
