import { type AbortOptions, signalOption, waitAbortable } from './abort.js';
import { codecTable } from './codec.js';
import { describe } from './describe.js';
import type { Cursor, CursorSetup } from './cursor/cursor.js';
import { dependencies, follows, refuseCycle } from './cursor/cursor.js';
import { GatingCursor } from './cursor/gating.js';
import { KeyedMemberCursor } from './cursor/keyed-member.js';
import { LossyCursor } from './cursor/lossy.js';
import { MemberCursor } from './cursor/member.js';
import { BusClosedError, InvalidOptionError, ReaderClosedError, ReentrantReadError, TimeoutError } from './errors.js';
import { hooks } from './internal.js';
import * as L from './layout.js';
import type { Ring } from './ring.js';
import { readerStats, type ReaderStats } from './stats.js';
import type { BusEvent, Handler, RawRecord, ReaderOptions } from './types.js';
import { knownOptions, readerOptions, timeoutMs as checkTimeout } from './validate.js';
import { resolveWaitStrategy, type WaitStrategy } from './wait-strategy.js';

export type { BusEvent, Handler, RawRecord, ReaderOptions } from './types.js';

/** The cursor of the contract the options ask for. */
function openCursor<T>(ring: Ring, name: string, options: ReaderOptions): { cursor: Cursor<T>; batchSize: number; strategy: WaitStrategy } {
  const { start, topics, after, lossy, group, keyed, wait, codecs, takeover, batchSize } = readerOptions(options);
  const codecTableOf = codecTable(codecs);
  const strategy = resolveWaitStrategy(wait);
  let filter: Uint8Array | null = null;
  if (topics !== undefined) {
    filter = new Uint8Array(ring.topics.length);
    for (const topic of topics) filter[ring.topicId(topic)] = 1;
  }
  refuseCycle(ring, name, group, after);
  const setup: CursorSetup = {
    ring,
    name,
    filter,
    deps: dependencies(ring, name, after),
    after,
    codecs: codecTableOf,
    owner: ((Math.random() * 0x7fffffff) | 1) >>> 0,
  };
  const startCode = start === 'newest' ? L.START_NEWEST : L.START_OLDEST;
  let cursor: Cursor<T>;
  if (group !== undefined && keyed) cursor = new KeyedMemberCursor<T>(setup, group, startCode, takeover);
  else if (group !== undefined) cursor = new MemberCursor<T>(setup, group, startCode, takeover);
  else if (lossy) cursor = new LossyCursor<T>(setup, startCode, takeover);
  else cursor = new GatingCursor<T>(setup, startCode, takeover);
  follows(ring, setup.owner, name, group, after);
  return { cursor, batchSize, strategy };
}

/**
 * A named cursor in the ring. Its position is committed in shared memory after each
 * handler returns, so a successor opened with the same name resumes where it stopped.
 * The contract (gating, lossy, group member, keyed member) is its cursor's; this class
 * checks calls, waits and keeps one call delivering at a time.
 */
export class Reader<T = unknown> implements AsyncIterable<BusEvent<T>> {
  readonly #cursor: Cursor<T>;
  readonly #strategy: WaitStrategy;
  readonly #batchSize: number;
  /** The call delivering this reader's events now ('' for none): reading from inside it is refused. */
  #running = '';

  /** Use bus.reader(). */
  constructor(
    ring: Ring,
    readonly name: string,
    options: ReaderOptions = {},
  ) {
    const opened = openCursor<T>(ring, name, options);
    this.#cursor = opened.cursor;
    this.#strategy = opened.strategy;
    this.#batchSize = opened.batchSize;
  }

  /**
   * Delivers up to `max` available events to `handler` without waiting, then commits the
   * position once. If the handler throws, the events before it stay committed and the
   * failing one is delivered again by the next poll. Returns the number delivered.
   */
  poll(handler: Handler<T>, max = this.#batchSize): number {
    this.#enter('poll()');
    this.#checkNotHeld();
    this.#checkHandler(handler);
    max = this.#checkMax(max);
    this.#running = 'poll';
    try {
      return this.#cursor.poll(handler, max);
    } finally {
      this.#leave();
    }
  }

  /**
   * Like poll(), without decoding or allocating: `handler` gets one reused RawRecord whose
   * `bytes` is the ring's memory and whose payload lies at `offset`, `length` bytes long.
   * Valid until the handler returns. For gating readers and group members.
   */
  pollRaw(handler: (record: RawRecord) => void, max = this.#batchSize): number {
    this.#enter('pollRaw()');
    this.#checkNotHeld();
    this.#checkHandler(handler);
    this.#cursor.refuseViews();
    max = this.#checkMax(max);
    this.#running = 'pollRaw';
    try {
      return this.#cursor.pollRaw(handler, max);
    } finally {
      this.#leave();
    }
  }

  /**
   * Returns up to `max` available events, decoded, without committing them: call
   * `commit()` once they are processed (and what they produced is published). Until then
   * a reader opened with `takeover` after this thread died gets them again: at-least-once
   * processing of a batch, even with async work between reading and committing.
   */
  read(max = this.#batchSize): BusEvent<T>[] {
    const events: BusEvent<T>[] = [];
    this.#readHeld(max, (m) => this.#cursor.readEach(m, (value, topic, seq) => events.push({ topic, seq, value })));
    return events;
  }

  static {
    hooks.cursor = (reader) => reader.#cursor;
    hooks.readBatch = (reader, max, into, decode) => reader.#readHeld(max, (m) => reader.#cursor.readBatch(m, into, decode));
    hooks.valueAt = (reader, head) => reader.#cursor.valueAt(head);
  }

  /**
   * The one way events are read to be held until commit(), by read() and the stage workers'
   * readBatch(): refused while others are held, and from inside a delivery.
   */
  #readHeld<R>(max: number, read: (max: number) => R): R {
    this.#enter('read()');
    this.#cursor.refuseHolding();
    if (this.#cursor.holding) throw new InvalidOptionError(`reader "${this.name}": commit() the events read before reading more`);
    max = this.#checkMax(max);
    this.#running = 'read';
    try {
      return read(max);
    } finally {
      this.#leave();
    }
  }

  /** Commits the events the last read() returned. */
  commit(): void {
    this.#checkOpen();
    this.#cursor.commit();
  }

  /**
   * Blocks until there is something to poll (true), or until `timeoutMs` passes or the bus
   * is closed and this reader has consumed everything (false). For worker threads.
   */
  wait(timeoutMs = Infinity): boolean {
    checkTimeout('wait() timeoutMs', timeoutMs);
    this.#enter('wait()');
    return this.#waitNow(timeoutMs);
  }

  #waitNow(timeoutMs: number): boolean {
    const cursor = this.#cursor;
    if (cursor.fill(this.#batchSize) > 0) return true;
    const started = performance.now();
    const ready = this.#strategy.waitSync(cursor.site, this.#readyToPoll, started + timeoutMs);
    this.#countWait(started);
    if (ready) this.#checkStrategy();
    return ready && cursor.pending > 0;
  }

  /** A wait strategy said ready: a user's that said so while its ready() did not would make a wait loop spin. */
  #checkStrategy(): void {
    if (this.#cursor.pending > 0 || this.#readyToPoll()) return;
    throw new InvalidOptionError(
      `the wait strategy "${String(this.#strategy.name)}" returned true while the reader had nothing to read: a WaitStrategy must return true only when ready() did`,
    );
  }

  /**
   * Like wait(), without blocking the event loop. A wait under way when the reader is
   * closed (or unsubscribed) resolves to false; one whose `signal` aborts rejects with its reason.
   */
  async waitAsync(timeoutMs = Infinity, options?: AbortOptions): Promise<boolean> {
    checkTimeout('waitAsync() timeoutMs', timeoutMs);
    this.#enter('waitAsync()');
    knownOptions('waitAsync() options', options, ['signal']);
    const signal = signalOption('waitAsync()', options);
    signal?.throwIfAborted(); // as every call given a signal aborted already: a loop that waits ends even while events keep coming
    return this.#waitAsyncNow(timeoutMs, signal);
  }

  async #waitAsyncNow(timeoutMs: number, signal: AbortSignal | undefined): Promise<boolean> {
    const cursor = this.#cursor;
    if (cursor.fill(this.#batchSize) > 0) return true;
    const started = performance.now();
    const ready = await waitAbortable(this.#strategy, cursor.site, this.#readyToPoll, started + timeoutMs, signal);
    this.#countWait(started);
    if (signal?.aborted && !(cursor.open && cursor.pending > 0)) throw signal.reason;
    if (ready) this.#checkStrategy();
    return ready && cursor.open && cursor.pending > 0;
  }

  readonly #readyToPoll = (): boolean => !this.#cursor.open || this.#cursor.fill(this.#batchSize) > 0 || this.#cursor.ended;

  #countWait(started: number): void {
    // a closed reader's slot may have a successor already
    if (this.#cursor.open) this.#cursor.ring.core.addSlotCounter(this.#cursor.slot, L.S_WAIT_NS, (performance.now() - started) * 1e6);
  }

  /**
   * Polls and waits until `count` events were delivered; throws TimeoutError after
   * `timeoutMs`. A convenience for tests and simple workers.
   */
  take(count: number, handler: Handler<T>, timeoutMs = Infinity): void {
    checkTimeout('take() timeoutMs', timeoutMs);
    this.#enter('take()');
    this.#checkNotHeld();
    this.#checkHandler(handler);
    const deadline = performance.now() + timeoutMs;
    let taken = 0;
    this.#running = 'take';
    try {
      while (taken < count) {
        taken += this.#cursor.poll(handler, Math.min(this.#batchSize, count - taken));
        this.#checkOpen(); // the handler closed it
        if (taken < count && !this.#waitNow(deadline - performance.now())) {
          if (performance.now() >= deadline) throw new TimeoutError(`reader "${this.name}" taking ${count} events (got ${taken})`, timeoutMs);
          if (this.#cursor.ended)
            throw new BusClosedError(`the bus closed after reader "${this.name}" took ${taken} of the ${count} events it was asked to take`);
        }
      }
    } finally {
      this.#leave();
    }
  }

  /**
   * Yields events until the bus is closed and everything before close() was read.
   * An event's position is committed when the loop asks for the next one; leaving the
   * loop early (break, throw) leaves the current event uncommitted: it is delivered again.
   */
  [Symbol.asyncIterator](): AsyncGenerator<BusEvent<T>, void, undefined> {
    return this.events();
  }

  /**
   * The events, as `for await (const event of reader)` gives them; `signal` ends the loop:
   * it throws the signal's reason, at once while it waits, else when it asks for the next
   * event (the events handled before stay committed).
   */
  async *events(options?: AbortOptions): AsyncGenerator<BusEvent<T>, void, undefined> {
    this.#enter('for await');
    knownOptions('events() options', options, ['signal']);
    const signal = signalOption('events()', options);
    this.#checkNotHeld();
    this.#running = 'for await';
    try {
      yield* this.#cursor.iterate(this.#batchSize, signal, () => this.#waitAsyncNow(Infinity, signal));
    } finally {
      this.#running = '';
    }
  }

  /** True once the bus is closed and this reader has read everything published before. */
  get ended(): boolean {
    return this.#cursor.ended;
  }

  /** Events this lossy reader missed because producers lapped it. */
  get missed(): number {
    return this.#cursor.ring.core.slotCounter(this.#cursor.slot, L.S_MISSED);
  }

  stats(): ReaderStats {
    return readerStats(this.#cursor.ring, this.#cursor.slot, this.name);
  }

  /** Stops reading here. The position stays in the ring and keeps gating producers: a reader opened with the same name resumes from it. */
  close(): void {
    const cursor = this.#cursor;
    if (!cursor.open) return;
    cursor.open = false;
    if (!this.#delivering) cursor.letGo();
    cursor.ring.core.wakeAll(); // a for-await of this reader asleep in this thread ends now
  }

  /**
   * Removes the reader: its position is forgotten and it no longer holds producers back.
   * A group's last member takes the group with it.
   */
  unsubscribe(): void {
    this.#checkOpen();
    const cursor = this.#cursor;
    cursor.refuseUnsubscribe();
    cursor.open = false;
    cursor.forget = true;
    if (!this.#delivering) cursor.letGo();
    cursor.ring.core.wakeAll();
  }

  /**
   * True while a poll-like call is walking the ring: a handler that closes the reader lets
   * go of the slot only once that call has committed what was handled, since the position
   * stops being ours once a successor can open it. A for await commits nothing after close().
   */
  get #delivering(): boolean {
    return this.#running !== '' && this.#running !== 'for await';
  }

  /** Checks a reading call may start: the reader is open and no call of it is delivering events. */
  #enter(call: string): void {
    this.#checkOpen();
    if (this.#running !== '') throw new ReentrantReadError(this.name, call, this.#running);
  }

  #leave(): void {
    this.#running = '';
    if (!this.#cursor.open) this.#cursor.letGo();
  }

  #checkOpen(): void {
    if (!this.#cursor.open) throw new ReaderClosedError(this.name);
  }

  #checkNotHeld(): void {
    if (this.#cursor.holding) throw new InvalidOptionError(`reader "${this.name}": commit() the events read() returned before polling`);
  }

  #checkMax(max: number): number {
    if (typeof max !== 'number' || !(max >= 1) || !(Number.isInteger(max) || max === Infinity))
      throw new InvalidOptionError(`reader "${this.name}": max must be a whole number of events ≥ 1, got ${describe(max)}`);
    return Math.min(Math.floor(max), 0x7fffffff);
  }

  #checkHandler(handler: unknown): void {
    if (typeof handler !== 'function') throw new InvalidOptionError(`reader "${this.name}": the handler must be a function, got ${typeof handler}`);
  }
}
