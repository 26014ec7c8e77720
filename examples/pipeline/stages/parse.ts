// stages/parse.ts (built to stages/parse.js: workers load JavaScript)
import type { StageContext } from 'ringbus';
export function handler(line: string, ctx: StageContext) {
  // may be async
  ctx.emit('parsed', JSON.parse(line)); // published after the handler returns
}
