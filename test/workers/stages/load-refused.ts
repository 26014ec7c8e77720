// Passes events on; its module fails to load while the file named by RINGBUS_TEST_REFUSE_LOAD
// exists (as a stage whose deployed code broke under a running pipeline).
import { existsSync } from 'node:fs';
import type { StageContext } from 'ringbus';

const flag = process.env.RINGBUS_TEST_REFUSE_LOAD;
if (flag !== undefined && existsSync(flag)) throw new Error('load refused');

export function handler(value: unknown, ctx: StageContext): void {
  ctx.emit('out', value);
}
