// A stage for tests: applies `op` to x, appends its stage name to the trail, and emits the
// result into every topic of options.to.
import type { StageContext } from 'ringbus';

export interface Step {
  id: number;
  x: number;
  trail: string;
}

interface StepOptions {
  op: 'mul' | 'add';
  k: number;
  to: string[];
}

export function handler(value: Step, ctx: StageContext): void {
  const { op, k, to } = ctx.options as StepOptions;
  const x = op === 'mul' ? value.x * k : value.x + k;
  for (const topic of to) ctx.emit(topic, { id: value.id, x, trail: `${value.trail}${ctx.stage}.` });
}
