// A records handler that reports what its RecordBatch says about each event, and what its
// methods and forward() throw when misused, into options.to (as JSON text in bytes with the
// raw codec, whose events must be bytes; as an object otherwise). It forwards nothing but
// empty ranges: a misused forward() that threw must not have passed anything on either.
import { InvalidOptionError, UndeclaredTopicError, type BatchContext, type RecordBatch } from 'ringbus';

export interface EventReport {
  kind: 'event';
  index: number;
  length: number;
  topic: string;
  seq: number;
  codec: number;
  offset: number;
  byteLength: number;
  /** The payload's bytes, bytes.subarray(offset, offset + byteLength), copied. */
  payload: number[];
  /** value(i); with the raw codec, a copy of the view's bytes. */
  value: unknown;
  /** value(i) again, equal to the first (compared as JSON). */
  sameTwice: boolean;
  /** Raw codec: value(i) is a view of batch.bytes at offset(i), byteLength(i) long. */
  view?: { sameBuffer: boolean; atOffset: boolean; sameLength: boolean };
  contextTopic: string;
  contextSeq: number;
}

export interface MisuseReport {
  kind: 'misuse';
  length: number;
  /** For each misuse, in the order of MISUSES: the error's name, whether it is an InvalidOptionError, its message ('' if nothing was thrown). */
  results: { call: string; name: string; invalidOption: boolean; message: string }[];
  /** forward(to, 0, 0) and forward(to, length, length): what they threw ('' for nothing). */
  empty: string[];
  /** forward() into a topic the stage does not produce: the error's name and whether it is an UndeclaredTopicError. */
  undeclared: { name: string; undeclaredTopic: boolean };
}

/** What each misuse does (n: the batch's length). */
export const MISUSES: readonly [string, (b: RecordBatch, ctx: BatchContext, to: string) => unknown][] = [
  ['value(-1)', (b) => b.value(-1)],
  ['value(length)', (b) => b.value(b.length)],
  ['value(0.5)', (b) => b.value(0.5)],
  ['value(NaN)', (b) => b.value(Number.NaN)],
  ["value('0')", (b) => b.value('0' as unknown as number)],
  ['offset(length)', (b) => b.offset(b.length)],
  ['byteLength(-1)', (b) => b.byteLength(-1)],
  ['topic(length + 1)', (b) => b.topic(b.length + 1)],
  ['seq(1.5)', (b) => b.seq(1.5)],
  ['codec(Infinity)', (b) => b.codec(Number.POSITIVE_INFINITY)],
  ['forward(to, -1)', (_b, ctx, to) => ctx.forward(to, -1)],
  ['forward(to, 0, length + 1)', (b, ctx, to) => ctx.forward(to, 0, b.length + 1)],
  ['forward(to, length, 0)', (b, ctx, to) => ctx.forward(to, b.length, 0)],
  ['forward(to, 0.5)', (_b, ctx, to) => ctx.forward(to, 0.5)],
  ['forward(to, 0, NaN)', (_b, ctx, to) => ctx.forward(to, 0, Number.NaN)],
  ['forward(to, 1, 0)', (_b, ctx, to) => ctx.forward(to, 1, 0)],
];

export function records(batch: RecordBatch, ctx: BatchContext): void {
  const { to, raw } = ctx.options as { to: string; raw?: boolean };
  const out = (report: EventReport | MisuseReport) => ctx.emit(to, raw ? new TextEncoder().encode(JSON.stringify(report)) : report);
  for (let i = 0; i < batch.length; i++) {
    const offset = batch.offset(i);
    const byteLength = batch.byteLength(i);
    const value = batch.value(i);
    const again = batch.value(i);
    const report: EventReport = {
      kind: 'event',
      index: i,
      length: batch.length,
      topic: batch.topic(i),
      seq: batch.seq(i),
      codec: batch.codec(i),
      offset,
      byteLength,
      payload: Array.from(batch.bytes.subarray(offset, offset + byteLength)),
      value: value instanceof Uint8Array ? Array.from(value) : value,
      sameTwice:
        JSON.stringify(value instanceof Uint8Array ? Array.from(value) : value) === JSON.stringify(again instanceof Uint8Array ? Array.from(again) : again),
      contextTopic: ctx.topics[i],
      contextSeq: ctx.seqs[i],
    };
    if (value instanceof Uint8Array)
      report.view = {
        sameBuffer: value.buffer === batch.bytes.buffer,
        atOffset: value.byteOffset === batch.bytes.byteOffset + offset,
        sameLength: value.length === byteLength,
      };
    out(report);
  }
  const results = MISUSES.map(([call, misuse]) => {
    try {
      misuse(batch, ctx, to);
      return { call, name: '', invalidOption: false, message: '' };
    } catch (error) {
      return { call, name: (error as Error).name, invalidOption: error instanceof InvalidOptionError, message: (error as Error).message };
    }
  });
  const thrown = (call: () => void) => {
    try {
      call();
      return '';
    } catch (error) {
      return (error as Error).name;
    }
  };
  const empty = [thrown(() => ctx.forward(to, 0, 0)), thrown(() => ctx.forward(to, batch.length, batch.length))];
  let undeclared = { name: '', undeclaredTopic: false };
  try {
    ctx.forward('nowhere');
  } catch (error) {
    undeclared = { name: (error as Error).name, undeclaredTopic: error instanceof UndeclaredTopicError };
  }
  out({ kind: 'misuse', length: batch.length, results, empty, undeclared });
}
