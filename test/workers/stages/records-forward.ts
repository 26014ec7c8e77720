// A records handler that passes its whole batch on with forward() (default range), decoding
// an event only to look for `fail` (an object with `fail: true`, or raw bytes starting with
// 255): such an event makes the call throw, every time it is in it. With `sizes`, each call
// that gets that far also emits what it was given into that topic (which a failed call's
// discard takes back); with `async`, the handler awaits a timer before it reads the batch.
// An object with `die: k` makes the worker exit the first time it meets it (shared flag k
// of options.flags).
import type { BatchContext, RecordBatch } from 'ringbus';

export interface RecordsForwardOptions {
  to: string;
  sizes?: string;
  async?: boolean;
  flags?: Int32Array;
}

/** What a call emits into `sizes`. */
export interface CallSize {
  n: number;
  attempt: number;
  seqs: number[];
  topics: string[];
  /** ctx.seqs and ctx.topics agreed with batch.seq() and batch.topic(). */
  contextAgrees: boolean;
}

function fails(value: unknown): boolean {
  if (value instanceof Uint8Array) return value[0] === 255;
  return typeof value === 'object' && value !== null && (value as { fail?: boolean }).fail === true;
}

export async function records(batch: RecordBatch, ctx: BatchContext): Promise<void> {
  const { to, sizes, async, flags } = ctx.options as RecordsForwardOptions;
  if (async) await new Promise((resolve) => setTimeout(resolve, 0));
  for (let i = 0; i < batch.length; i++) {
    const value = batch.value(i);
    if (fails(value)) throw new Error(`poison ${(value as { id?: number }).id ?? 'bytes'}`);
    const die = (value as { die?: number } | null)?.die;
    if (die !== undefined && flags !== undefined && Atomics.compareExchange(flags, die, 0, 1) === 0) process.exit(7);
  }
  if (sizes !== undefined) {
    const seqs = Array.from({ length: batch.length }, (_, i) => batch.seq(i));
    const topics = Array.from({ length: batch.length }, (_, i) => batch.topic(i));
    const contextAgrees =
      ctx.seqs.length === batch.length &&
      ctx.topics.length === batch.length &&
      seqs.every((s, i) => ctx.seqs[i] === s) &&
      topics.every((t, i) => ctx.topics[i] === t);
    const size: CallSize = { n: batch.length, attempt: ctx.attempt, seqs, topics, contextAgrees };
    ctx.emit(sizes, size);
  }
  ctx.forward(to);
}
