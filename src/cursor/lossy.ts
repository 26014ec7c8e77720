import { InvalidOptionError } from '../errors.js';
import * as L from '../layout.js';
import { codecOf, isEvent, keyBytes, readSeq, recordSize, topicOf } from '../record.js';
import { openSlot } from '../registry.js';
import type { BusEvent, Handler, RawRecord } from '../types.js';
import { Cursor, type CursorSetup } from './cursor.js';

/**
 * A reader that never holds producers back. When lapped it skips to the oldest event
 * still in the ring and counts what it missed; it hands out copies, never views, and
 * never redelivers.
 */
export class LossyCursor<T> extends Cursor<T> {
  get gates(): boolean {
    return false;
  }

  /** Sequence number of the next event it expects: a higher one means it missed some. */
  private expected: number;
  /** A word of its own slot, for the fence in poll(). */
  private readonly fenceWord: number;

  constructor(setup: CursorSetup, start: number, takeover: boolean) {
    const { ring } = setup;
    super(setup, openSlot(ring, setup.name, { kind: L.KIND_LOSSY, group: L.NO_SLOT, start, takeover, owner: setup.owner }), L.NO_SLOT, false);
    this.expected = ring.core.slotCounter(this.slot, L.S_NEXT_SEQ);
    this.fenceWord = ring.slotWord(this.slot, L.S_OWNER);
  }

  protected available(max: number): number {
    const core = this.ring.core;
    if (core.lapped(this.position)) {
      const seq = core.resync(this.slot);
      if (seq > this.expected) core.addSlotCounter(this.slot, L.S_MISSED, seq - this.expected);
      this.expected = seq;
      this.position = core.cursor(this.slot);
      this.index = core.cursorIndex(this.slot);
    }
    return core.available(this.slot, max, this.depLimit());
  }

  refuseViews(): void {
    throw new InvalidOptionError(
      `reader "${this.name}" is lossy: what it reads may be overwritten under it, so it gets copies through poll(), not views through pollRaw()`,
    );
  }

  refuseHolding(): void {
    throw new InvalidOptionError(`reader "${this.name}" is lossy: it never redelivers, so it has nothing to commit; use poll()`);
  }

  pollRaw(_handler: (record: RawRecord) => void, _max: number): number {
    this.refuseViews();
    return 0;
  }

  /**
   * Producers may overwrite what this cursor reads while it reads. Each record is trusted
   * only after its bytes are copied out and the core says no claim has reached its
   * position + capacity since; the walk is bounded by a tail read before it, so no header
   * from the previous lap (above the tail) is ever taken for new.
   */
  poll(handler: Handler<T>, max: number): number {
    const bytes = this.fill(max);
    if (bytes === 0) return 0;
    const { i32, u8, data, mask, topics, core } = this.ring;
    const limit = Math.min(bytes, core.tailPosition() - this.position);
    let off = 0;
    let delivered = 0;
    const events: [T, string, number][] = [];
    while (off < limit && delivered < max) {
      const at = data + ((this.index + off) & mask);
      const meta = Atomics.load(i32, at >> 2);
      const state = meta & L.STATE_MASK;
      if (state !== L.STATE_COMMITTED && state !== L.STATE_REVOKED) break;
      // Plain reads, possibly of a later lap's bytes: trusted only once lapped() says not.
      const length = i32[(at + L.R_LENGTH) >> 2];
      if (length < 0 || length > this.ring.maxSpan) {
        this.pending = 0; // only an overwritten header looks like this: resync
        break;
      }
      const seq = readSeq(i32, at);
      const topic = topicOf(meta);
      const event = isEvent(meta);
      const wanted = event && (this.filter === null || this.filter[topic] === 1);
      const key = keyBytes(meta);
      const payload = wanted ? u8.slice(at + L.RECORD_HEADER + key, at + L.RECORD_HEADER + length) : undefined;
      // A read-modify-write orders the plain reads above before the check, on any CPU.
      Atomics.add(i32, this.fenceWord, 0);
      if (core.lapped(this.position + off)) {
        this.pending = 0; // the next fill resyncs
        break;
      }
      if (event) {
        if (seq > this.expected) core.addSlotCounter(this.slot, L.S_MISSED, seq - this.expected);
        this.expected = seq + 1;
      }
      if (payload !== undefined) {
        let value: T;
        const codec = codecOf(meta);
        try {
          value = this.decode(codec, payload);
        } catch (cause) {
          if (events.length > 0) break; // handed out first; the next poll reports this one
          this.consume(off + recordSize(length), 0, this.expected);
          throw this.undecodable(codec, payload, cause, seq, topic);
        }
        events.push([value, topics[topic], seq]);
        delivered++;
      }
      off += recordSize(length);
    }
    if (off > 0) this.consume(off, delivered, this.expected);
    if (off === 0 || off < limit) this.pending = 0;
    // Handlers run after the walk, on copies. A lossy reader never redelivers: if a handler
    // throws or closes the reader, the events after it in this batch count as missed.
    for (let i = 0; i < events.length; i++) {
      try {
        handler(events[i][0], events[i][1], events[i][2]);
      } catch (error) {
        this.missPassed(events.length - i - 1);
        throw error;
      }
      if (!this.open) {
        this.missPassed(events.length - i - 1);
        return i + 1;
      }
    }
    return delivered;
  }

  /** A lossy cursor promises no redelivery: events are handed out a batch at a time. */
  async *iterate(batchSize: number, signal: AbortSignal | undefined, wait: () => Promise<boolean>): AsyncGenerator<BusEvent<T>, void, undefined> {
    this.startTurns();
    while (this.open) {
      signal?.throwIfAborted();
      const batch: BusEvent<T>[] = [];
      this.poll((value, topic, seq) => batch.push({ topic, seq, value }), batchSize);
      for (let i = 0; i < batch.length; i++) {
        yield batch[i];
        if (!this.open) {
          this.missPassed(batch.length - i - 1); // closed by the loop body
          return;
        }
        if (this.turnDueNow()) await this.takeTurn();
      }
      if (batch.length === 0) {
        if (!(await wait())) return;
        this.startTurns();
      }
    }
  }

  /** Counts `lost` events of a batch, committed but never handed out, as missed. */
  private missPassed(lost: number): void {
    if (lost <= 0 || this.forget) return; // an unsubscribed slot may be another reader's already
    this.ring.core.addSlotCounter(this.slot, L.S_MISSED, lost);
    this.ring.core.addSlotCounter(this.slot, L.S_CONSUMED, -lost);
  }
}
