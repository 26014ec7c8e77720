import { InvalidOptionError } from '../errors.js';
import * as L from '../layout.js';
import { codecOf, keyBytes } from '../record.js';
import type { Ring } from '../ring.js';
import type { RecordBatch } from './declaration.js';

/**
 * The RecordBatch a records handler gets: a window over the events a stage worker holds
 * (their record headers' positions, topics and seqs, in the worker's arrays), read from the
 * ring where they lie. One object per worker, moved from batch to batch.
 */
export class HeldRecords implements RecordBatch {
  readonly bytes: Uint8Array;
  private readonly words: Int32Array;
  /** Index in the held arrays of the window's first event. */
  private first = 0;
  private count = 0;

  constructor(
    ring: Ring,
    private readonly stage: string,
    private readonly heads: readonly number[],
    private readonly topics: readonly string[],
    private readonly seqs: readonly number[],
    private readonly decode: (head: number) => unknown,
  ) {
    this.bytes = ring.u8;
    this.words = ring.i32;
  }

  get length(): number {
    return this.count;
  }

  /** Makes it the window of `count` events from index `first` of the held arrays. */
  window(first: number, count: number): this {
    this.first = first;
    this.count = count;
    return this;
  }

  offset(i: number): number {
    const head = this.head(i);
    return head + L.RECORD_HEADER + keyBytes(this.words[head >> 2]);
  }

  byteLength(i: number): number {
    const head = this.head(i);
    return this.words[(head + L.R_LENGTH) >> 2] - keyBytes(this.words[head >> 2]);
  }

  topic(i: number): string {
    return this.topics[this.index(i)];
  }

  seq(i: number): number {
    return this.seqs[this.index(i)];
  }

  codec(i: number): number {
    return codecOf(this.words[this.head(i) >> 2]);
  }

  value(i: number): unknown {
    return this.decode(this.head(i));
  }

  private head(i: number): number {
    return this.heads[this.index(i)];
  }

  private index(i: number): number {
    if (!Number.isInteger(i) || i < 0 || i >= this.count)
      throw new InvalidOptionError(`stage "${this.stage}": event ${String(i)} of a batch of ${this.count}; an index is a whole number from 0 to length - 1`);
    return this.first + i;
  }
}

/** Checks forward()'s range over a batch (or window) of `length` events. */
export function checkRange(stage: string, from: number, to: number, length: number): void {
  if (!Number.isInteger(from) || !Number.isInteger(to) || from < 0 || to > length || from > to)
    throw new InvalidOptionError(
      `stage "${stage}": forward(topic, from, to) takes whole numbers with 0 ≤ from ≤ to ≤ ${length} (the batch's length), got from ${String(from)}, to ${String(to)}`,
    );
}
