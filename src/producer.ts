import { waitAbortable } from './abort.js';
import type { Codec } from './codec.js';
import { CODEC_RAW } from './codec.js';
import { threadId } from 'node:worker_threads';
import {
  BatchAbortedError,
  BusClosedError,
  ClaimClosedError,
  ClaimDeadlockError,
  PublishOrderError,
  EncodeError,
  InvalidOptionError,
  RecordTooLargeError,
  RingbusError,
  TimeoutError,
  TooManyClaimsError,
  TooManyProducersError,
} from './errors.js';
import * as L from './layout.js';
import type { Ring } from './ring.js';
import { keptMeta, readSeq, recordSize, writeSeq } from './record.js';
import { ClaimWatch, osThreadId } from './claim-watch.js';
import { ownerOf } from './thread-deaths.js';
import { encoded } from './validate.js';
import type { WaitSite, WaitStrategy } from './wait-strategy.js';

const BUSY_SPINS = 64;
/** f64 words before a counter row's topic cells. */
const HEAD_CELLS = L.COUNTER_HEAD_BYTES >> 3;
const KEYED_META = L.FLAG_KEYED << L.FLAGS_SHIFT;

/**
 * A claim is named by its position (a number, so that the hot path allocates nothing):
 * its first record lies at index `position & mask` of the data region, where the core
 * wrote the claim's sequence number, which the claimer reads at once (see seqOf()).
 * Commits and aborts check both, so a claim that was revoked and lapped is never
 * mistaken for the claim now in its space.
 */

/**
 * Writes events into the ring: encode, claim, copy, commit. One per thread and bus.
 * Nobody revokes a claim of a live thread, however slow it is: the producer never
 * publishes twice, and a write that fails between claim and commit aborts its claim.
 */
export class Producer {
  private staging = new Uint8Array(1 << 16);
  private stagingWords = new Int32Array(this.staging.buffer);
  private readonly pause = new Int32Array(new SharedArrayBuffer(4));
  private readonly site: WaitSite;

  /** Finds the claims of dead threads that this producer waits behind. */
  private readonly claims: ClaimWatch;
  /** This thread's slot in the ring's producer table; -1 until it first claims. */
  private slot = -1;
  /** Index into `f64` of the slot's counter row (L.C_BLOCKED_MS, then per topic events and bytes). */
  private row = -1;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  /** The time limit of the sync call under way (see limit()). */
  private limitMs = 0;
  private deadline = -1;
  /** Async publishes of this thread, one after the other: they keep their order and their staging. */
  private asyncTail: Promise<unknown> = Promise.resolve();
  /** Async publishes of this thread not yet settled. */
  private asyncPending = 0;

  constructor(
    private readonly ring: Ring,
    private readonly codec: Codec<any>,
    private readonly wait: WaitStrategy,
  ) {
    const site = { words: ring.i32, futex: ring.word(L.H_CURSOR_FUTEX), waiters: ring.word(L.H_CURSOR_WAITERS), sliceMs: 100 };
    this.site = site;
    this.claims = new ClaimWatch(ring, site, 100);
    this.i32 = ring.i32;
    this.f64 = ring.f64;
  }

  encode(value: unknown): Uint8Array {
    let bytes: Uint8Array;
    try {
      bytes = this.codec.encode(value);
    } catch (cause) {
      if (cause instanceof RingbusError) throw cause;
      throw new EncodeError(this.codec.name, String((cause as Error)?.message ?? cause), { cause });
    }
    encoded(bytes, this.codec.name);
    if (bytes.length > this.ring.maxPayload) throw new RecordTooLargeError(bytes.length, this.ring.maxPayload);
    return bytes;
  }

  meta(topicId: number, codecId = this.codec.id): number {
    return (topicId << L.TOPIC_SHIFT) | (codecId << L.CODEC_SHIFT);
  }

  /**
   * One claim attempt, retrying only while another producer holds the claim lock. Returns
   * the claim's position, or L.CLAIM_FULL.
   */
  tryClaim(span: number, count: number, meta: number): number {
    if (this.slot < 0) this.acquireSlot();
    for (let spins = 0; ; spins++) {
      const index = this.ring.core.claim(span, count, meta);
      if (index >= 0) return this.ring.core.claimPosition();
      if (index === L.CLAIM_FULL) return index;
      if (index === L.CLAIM_CLOSED) throw new BusClosedError();
      if (index === L.CLAIM_TOO_LARGE) throw new RecordTooLargeError(span - L.RECORD_HEADER, this.ring.maxPayload);
      if (index === L.CLAIM_TOO_MANY) throw new TooManyClaimsError(L.PRODUCER_CLAIMS);
      if (spins >= BUSY_SPINS) Atomics.wait(this.pause, 0, 0, 0.01); // the lock holder was descheduled
    }
  }

  /** Lists this thread in the ring's producer table, so that its claims are revoked when it dies. */
  private acquireSlot(): void {
    const slot = this.ring.core.acquireProducer(ownerOf(threadId));
    if (slot < 0) throw new TooManyProducersError(L.MAX_PRODUCERS);
    Atomics.store(this.ring.i32, this.ring.producerWord(slot, L.P_OS_THREAD), osThreadId());
    this.slot = slot;
    this.row = this.ring.counterRow(slot);
    this.f64[this.row + L.C_BLOCKED_MS] = 0; // the time blocked is this thread's; the topic counts stay the bus's
  }

  /** Sequence number of the claim at `position`: its first header is ours to read while it is open. */
  seqOf(position: number): number {
    return readSeq(this.i32, this.ring.data + (position & this.ring.mask));
  }

  /**
   * A claim attempt for a producer that waits. Waiting behind this thread's own open claim
   * would last for ever: refuse it.
   */
  private claimOrWatch(span: number, count: number, meta: number, what: string): number {
    const position = this.tryClaim(span, count, meta);
    if (position < 0) {
      const { core } = this.ring;
      const at = core.blockedAt();
      if (at >= 0 && core.openClaimAt(at) === 1) {
        const owner = core.claimOwner(at);
        if (owner === this.slot) throw new ClaimDeadlockError(what);
        this.claims.check(at, owner); // a dead thread's, maybe
      }
    }
    return position;
  }

  /**
   * Starts the time limit of a sync call that may wait: its clock starts at its first
   * wait, so a publish that finds space never reads the clock.
   */
  private limit(timeoutMs: number): void {
    this.limitMs = timeoutMs;
    this.deadline = -1;
  }

  /**
   * Claims, waiting for space within the limit of the current sync call (see limit());
   * `what` names that call. Returns the claim's position.
   */
  claimSync(span: number, count: number, meta: number, what: string): number {
    let position = this.tryClaim(span, count, meta);
    if (position >= 0) return position;
    const started = performance.now();
    if (this.deadline < 0) this.deadline = started + this.limitMs;
    const ok = this.wait.waitSync(this.site, () => (position = this.claimOrWatch(span, count, meta, what)) >= 0, this.deadline);
    this.waited(performance.now() - started);
    if (!ok) throw new TimeoutError(`${what} (waiting for space in the ring)`, Math.round(this.limitMs));
    if (position < 0) throw brokenStrategy(this.wait);
    return position;
  }

  /** Claims without blocking the event loop; resolves to the claim's position. */
  async claimAsync(
    span: number,
    count: number,
    meta: number,
    deadline: number,
    timeoutMs: number,
    signal?: AbortSignal,
    call = 'publishAsync',
  ): Promise<number> {
    signal?.throwIfAborted();
    let position = this.tryClaim(span, count, meta);
    if (position >= 0) return position;
    const started = performance.now();
    const ok = await waitAbortable(this.wait, this.site, () => (position = this.claimOrWatch(span, count, meta, call)) >= 0, deadline, signal);
    this.waited(performance.now() - started);
    // timeoutMs runs from the call, queued behind this thread's earlier async publishes included
    if (!ok) throw new TimeoutError(`${call} (waiting for space in the ring, counted from the call)`, Math.round(timeoutMs));
    if (position < 0) throw signal?.aborted ? signal.reason : brokenStrategy(this.wait);
    return position;
  }

  private waited(ms: number): void {
    this.ring.core.addProducerWait(ms * 1e6);
    this.f64[this.row + L.C_BLOCKED_MS] += ms;
  }

  /**
   * Runs async publishes of this thread one after the other, in call order. One whose
   * signal aborts, or whose deadline passes, while it waits for its turn rejects then
   * (`timedOut()` makes its error) and is skipped when its turn comes; it no longer counts
   * as waiting, so a sync publish after it is not refused for it.
   */
  private serial<T>(publish: () => Promise<T>, signal: AbortSignal | undefined, deadline: number, timedOut: () => unknown): Promise<T> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    this.asyncPending++;
    return new Promise<T>((resolve, reject) => {
      let queued = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const stopWatching = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', abort);
      };
      const giveUp = (reason: unknown) => {
        if (!queued) return;
        queued = false;
        this.asyncPending--;
        stopWatching();
        reject(reason);
      };
      const abort = () => giveUp(signal!.reason);
      signal?.addEventListener('abort', abort, { once: true });
      const left = deadline - performance.now();
      if (left < Infinity) timer = setTimeout(() => giveUp(timedOut()), Math.max(0, left));
      this.asyncTail = this.asyncTail.then(async () => {
        if (!queued) return; // given up while it waited for its turn
        queued = false;
        stopWatching(); // from here its own wait watches the signal and the deadline
        try {
          resolve(await publish());
        } catch (error) {
          reject(error);
        } finally {
          this.asyncPending--;
        }
      });
    });
  }

  /** Copies one encoded payload into the claim at `position` and commits it. */
  commitOne(position: number, seq: number, bytes: Uint8Array): void {
    try {
      this.ring.u8.set(bytes, this.ring.data + (position & this.ring.mask) + L.RECORD_HEADER);
    } catch (cause) {
      this.abort(position, seq);
      throw cause;
    }
    this.commit(position, seq, bytes.length, 1);
  }

  /**
   * Publishes the claim at `position`, whose records are written. `bytes`: payload bytes
   * of the `count` records when they share the first's topic, else -1.
   */
  commit(position: number, seq: number, firstLength: number, count: number, bytes = firstLength): void {
    const index = position & this.ring.mask;
    // Counted per topic before the commit, while the records are still ours to read, with
    // plain stores into a row no other thread writes (summed by Bus.topicStats()). A commit
    // that fails was aborted by this thread before: a live thread's claim is never revoked.
    if (bytes >= 0) {
      const meta = this.i32[(this.ring.data + index) >> 2];
      const cell = this.row + HEAD_CELLS + 2 * (meta >>> L.TOPIC_SHIFT);
      this.f64[cell] += count;
      // A keyed record's key hash is the ring's, not the publisher's payload (readers never see it).
      this.f64[cell + 1] += (meta & KEYED_META) === 0 ? bytes : bytes - count * L.KEY_BYTES;
    } else {
      this.countTopics(index, firstLength, count);
    }
    const status = this.ring.core.commit(index, firstLength, count, seq, position);
    // Only this thread's own abort() revokes a claim of a live thread.
    if (status !== L.COMMIT_OK) throw new ClaimClosedError('aborted');
  }

  /** Counts a claim of several topics (publishEvents()) topic by topic, from its record headers. */
  private countTopics(index: number, firstLength: number, count: number): void {
    const { i32, f64 } = this;
    let at = this.ring.data + index;
    let cell = this.row + HEAD_CELLS + 2 * (i32[at >> 2] >>> L.TOPIC_SHIFT);
    let length = firstLength;
    let events = 0;
    let bytes = 0;
    for (let i = 0; ; ) {
      events++;
      bytes += (i32[at >> 2] & KEYED_META) === 0 ? length : length - L.KEY_BYTES;
      if (++i === count) break;
      at += recordSize(length);
      const next = this.row + HEAD_CELLS + 2 * (i32[at >> 2] >>> L.TOPIC_SHIFT);
      length = i32[(at + L.R_LENGTH) >> 2];
      if (next !== cell) {
        f64[cell] += events;
        f64[cell + 1] += bytes;
        cell = next;
        events = 0;
        bytes = 0;
      }
    }
    f64[cell] += events;
    f64[cell + 1] += bytes;
  }

  /** Gives up the open claim at `position` of this thread: readers skip it. */
  abort(position: number, seq: number): boolean {
    return this.ring.core.abort(position & this.ring.mask, seq, position) === 1;
  }

  /**
   * A sync publish must not overtake this thread's async publishes still waiting for space
   * (they run in call order, and the wait they are in needs this thread's event loop, which
   * a blocking wait here would hold): the try forms publish nothing, the others throw.
   */
  private checkNothingQueued(call: string): void {
    if (this.asyncPending > 0) throw new PublishOrderError(`${call}()`, this.asyncPending);
  }

  publishSync(topicId: number, value: unknown, timeoutMs: number): void {
    this.checkNothingQueued('publish');
    const bytes = this.encode(value);
    const meta = this.meta(topicId);
    const span = recordSize(bytes.length);
    this.limit(timeoutMs);
    const position = this.claimSync(span, 1, meta, 'publish');
    this.commitOne(position, this.seqOf(position), bytes);
  }

  tryPublish(topicId: number, value: unknown): boolean {
    const bytes = this.encode(value);
    if (this.asyncPending > 0) return false;
    const meta = this.meta(topicId);
    const span = recordSize(bytes.length);
    const position = this.tryClaim(span, 1, meta);
    if (position < 0) return false;
    this.commitOne(position, this.seqOf(position), bytes);
    return true;
  }

  publishAsync(topicId: number, value: unknown, deadline: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    const encoded = this.encode(value);
    const meta = this.meta(topicId);
    const span = recordSize(encoded.length);
    if (this.asyncPending === 0) {
      // Nothing of this thread's is queued ahead: published now if it fits, so that a sync
      // publish called after it comes after it, and without a copy or a promise chain.
      const position = this.tryClaim(span, 1, meta);
      if (position >= 0) {
        this.commitOne(position, this.seqOf(position), encoded);
        return Promise.resolve();
      }
    }
    // A copy: the encoder reuses its buffer, a raw caller may reuse theirs, and other
    // publishes of this thread may run before this one.
    const bytes = encoded.slice();
    const timeoutMs = deadline - performance.now();
    return this.serial(
      async () => {
        const position = await this.claimAsync(span, 1, meta, deadline, timeoutMs, signal);
        this.commitOne(position, this.seqOf(position), bytes);
      },
      signal,
      deadline,
      () => queuedTimeout('publishAsync', timeoutMs),
    );
  }

  /** `topics` is one topic id for every value, or one per value; `call` names the API call in a TimeoutError; the first `count` values are published. */
  publishBatchSync(topics: Topics, values: readonly unknown[], timeoutMs: number, call = 'publishBatch', keys?: Keys, count = values.length): void {
    this.checkNothingQueued(call);
    this.publishChunksSync(this.stage(topics, values, keys, count), this.staging, timeoutMs, call, count);
  }

  /**
   * Publishes the longest prefix of the batch (its first `count` values) that fits now,
   * whole chunks at a time, and returns how many values that was; never waits.
   */
  tryPublishBatch(topics: Topics, values: readonly unknown[], keys?: Keys, count = values.length): number {
    return this.tryPublishChunks(this.stage(topics, values, keys, count), this.staging);
  }

  /** publishBatchSync() of records copied from another ring (see chunkRecords() and copyRecords()). */
  publishRecordsSync(topics: readonly number[], from: Ring, heads: readonly number[], start: number, count: number, timeoutMs: number): void {
    this.checkNothingQueued('publishEvents');
    this.publishChunksSync(this.chunkRecords(topics, from, heads, start, count), { from, topics, heads }, timeoutMs, 'publishEvents', count);
  }

  /** tryPublishBatch() of records copied from another ring (see chunkRecords() and copyRecords()). */
  tryPublishRecords(topics: readonly number[], from: Ring, heads: readonly number[], start: number, count: number): number {
    return this.tryPublishChunks(this.chunkRecords(topics, from, heads, start, count), { from, topics, heads });
  }

  /** Publishes every chunk, each claim waiting for space up to `timeoutMs`; a timeout says how much of the `count` values went out. */
  private publishChunksSync(chunks: readonly Chunk[], image: Uint8Array | Records, timeoutMs: number, call: string, count: number): void {
    this.limit(timeoutMs);
    const claim = (chunk: Chunk) => this.claimSync(chunk.end - chunk.start, chunk.count, chunk.meta, call);
    this.publishChunks(chunks, 0, image, claim, (error, published) => batchTimeout(error, call, timeoutMs, published, count));
  }

  /** Publishes the chunks that fit now, none while async publishes of this thread wait; returns how many values went out. */
  private tryPublishChunks(chunks: readonly Chunk[], image: Uint8Array | Records): number {
    if (this.asyncPending > 0) return 0;
    return publishedIn(chunks, this.publishChunks(chunks, 0, image, this.tryChunk));
  }

  private readonly tryChunk = (chunk: Chunk): number => this.tryClaim(chunk.end - chunk.start, chunk.count, chunk.meta);

  /**
   * The one loop that publishes chunks (`image` holds the staged batch, or names the records to copy), from chunk
   * `first` on, each with one claim by `claim` (a position, or < 0 when it does not fit:
   * the loop stops there), or `claimed`, the position of chunk `first` claimed already.
   * Returns the number of the first chunk not published. An error goes through `fail`,
   * told how many values went out before it.
   */
  private publishChunks(
    chunks: readonly Chunk[],
    first: number,
    image: Uint8Array | Records,
    claim: (chunk: Chunk) => number,
    fail?: (error: unknown, published: number) => unknown,
    claimed = -1,
  ): number {
    let i = first;
    try {
      for (; i < chunks.length; i++) {
        const position = claimed >= 0 ? claimed : claim(chunks[i]);
        claimed = -1;
        if (position < 0) break;
        this.commitChunk(position, this.seqOf(position), chunks[i], image);
      }
    } catch (error) {
      throw fail === undefined ? error : fail(error, publishedIn(chunks, i));
    }
    return i;
  }

  async publishBatchAsync(
    topics: Topics,
    values: readonly unknown[],
    deadline: number,
    call = 'publishBatchAsync',
    keys?: Keys,
    signal?: AbortSignal,
    encoded?: readonly number[],
  ): Promise<void> {
    signal?.throwIfAborted();
    const timeoutMs = deadline - performance.now();
    const chunks = this.stage(topics, values, keys, values.length, encoded);
    let first = 0;
    if (this.asyncPending === 0) {
      // Nothing of this thread's is queued ahead: what fits now goes out at once, from the
      // staging buffer. Copying the batch for a wait that never comes cost a large
      // allocation and a copy per call.
      first = this.publishChunks(chunks, 0, this.staging, this.tryChunk);
      if (first === chunks.length) return;
    }
    // Its own copy of the staged batch: other publishes of this thread run while it waits.
    const image = this.staging.slice(0, chunks.length > 0 ? chunks[chunks.length - 1].end : 0);
    const fail = (error: unknown, published: number) =>
      published > 0 && signal?.aborted && error === signal.reason
        ? new BatchAbortedError(call, published, values.length, error)
        : batchTimeout(error, call, timeoutMs, published, values.length);
    const run = this.serial(
      async () => {
        // The same loop, which stops at a chunk that does not fit: its claim waits for space here.
        while (first < chunks.length) {
          const chunk = chunks[first];
          const position = await this.claimAsync(chunk.end - chunk.start, chunk.count, chunk.meta, deadline, timeoutMs, signal, call).catch((error) => {
            throw fail(error, publishedIn(chunks, first));
          });
          first = this.publishChunks(chunks, first, image, this.tryChunk, fail, position);
        }
      },
      signal,
      deadline,
      () => fail(queuedTimeout(call, timeoutMs), publishedIn(chunks, first)),
    );
    // Aborted while queued, after the chunks that fitted at once went out: say how many did.
    return first === 0 ? run : run.catch((error) => Promise.reject(error instanceof BatchAbortedError ? error : fail(error, publishedIn(chunks, first))));
  }

  /**
   * Lays a batch out in the staging buffer exactly as it will lie in the ring, in chunks
   * that each fit one claim: one copy and one commit per chunk. A keyed record's payload
   * starts with the key's hash (L.KEY_BYTES), which its length includes. With `encoded`,
   * the values are records' payloads as they lay in another ring (a key included), and
   * `encoded[i]` the codec and key flag of value i's record (keptMeta() of its meta word).
   */
  private stage(topics: Topics, values: readonly unknown[], keys?: Keys, count = values.length, encoded?: readonly number[]): Chunk[] {
    const same = typeof topics === 'number';
    if (!same && topics.length < count) throw new InvalidOptionError(`a batch of ${count} values needs as many topics, got ${topics.length}`);
    const keyed = keys !== undefined ? L.FLAG_KEYED << L.FLAGS_SHIFT : 0;
    const keyBytes = keyed === 0 ? 0 : L.KEY_BYTES;
    let meta = same ? this.meta(topics) | keyed : 0;
    const chunks: Chunk[] = [];
    let chunk: Chunk | undefined;
    let at = 0;
    for (let i = 0; i < count; i++) {
      if (encoded !== undefined) meta = ((same ? topics : topics[i]) << L.TOPIC_SHIFT) | encoded[i];
      else if (!same) meta = this.meta(topics[i]) | keyed;
      const bytes = encoded === undefined ? this.encode(values[i]) : (values[i] as Uint8Array);
      if (bytes.length + keyBytes > this.ring.maxPayload) throw new RecordTooLargeError(bytes.length, this.ring.maxPayload - keyBytes);
      const length = bytes.length + keyBytes;
      const size = recordSize(length);
      if (chunk === undefined || at + size - chunk.start > this.ring.maxSpan) {
        chunk = { start: at, end: at, count: 0, firstLength: length, meta, bytes: 0, from: 0 };
        chunks.push(chunk);
      }
      chunk.bytes = chunk.bytes < 0 || meta !== chunk.meta ? -1 : chunk.bytes + length;
      this.reserveStaging(at + size);
      const words = this.stagingWords;
      words[at >> 2] = meta | L.STATE_COMMITTED;
      words[(at + L.R_LENGTH) >> 2] = length;
      if (keys !== undefined) {
        words[(at + L.RECORD_HEADER) >> 2] = typeof keys === 'number' ? keys : keys[i];
        words[(at + L.RECORD_HEADER + 4) >> 2] = 0;
      }
      const staging = this.staging;
      const to = at + L.RECORD_HEADER + keyBytes;
      // a loop copies a small payload faster than set(), which has a fixed cost of its own
      if (bytes.length <= 32) for (let k = 0; k < bytes.length; k++) staging[to + k] = bytes[k];
      else staging.set(bytes, to);
      at += size;
      chunk.end = at;
      chunk.count++;
    }
    return chunks;
  }

  /**
   * Cuts records that lie in the ring `from`, their headers at `heads[start .. start +
   * count)`, into chunks of one claim each, as stage() does a batch of values; they are
   * copied by copyRecords() once claimed, straight from ring to ring.
   */
  private chunkRecords(topics: readonly number[], from: Ring, heads: readonly number[], start: number, count: number): Chunk[] {
    const i32 = from.i32;
    const maxPayload = this.ring.maxPayload;
    const chunks: Chunk[] = [];
    let chunk: Chunk | undefined;
    let at = 0;
    for (let i = start; i < start + count; i++) {
      const head = heads[i];
      const length = i32[(head + L.R_LENGTH) >> 2];
      const meta = copiedMeta(i32[head >> 2], topics[i]);
      if (length > maxPayload) throw new RecordTooLargeError(length, maxPayload);
      const size = recordSize(length);
      if (chunk === undefined || at + size - chunk.start > this.ring.maxSpan) {
        chunk = { start: at, end: at, count: 0, firstLength: length, meta, bytes: 0, from: i };
        chunks.push(chunk);
      }
      chunk.bytes = chunk.bytes < 0 || meta !== chunk.meta ? -1 : chunk.bytes + length;
      at += size;
      chunk.end = at;
      chunk.count++;
    }
    return chunks;
  }

  /**
   * Copies a chunk of records (see chunkRecords()) into its claim at `index`: the bytes in
   * runs that lie one after the other in their ring (a whole batch, usually), then each
   * header's topic and seq. The claim's first header is the core's: copied from its payload on.
   */
  private copyRecords(index: number, seq: number, chunk: Chunk, records: Records): void {
    const { from, topics, heads } = records;
    const src = from.i32;
    const { u8, i32 } = this.ring;
    const base = this.ring.data + index;
    let to = base + L.RECORD_HEADER;
    let runStart = heads[chunk.from] + L.RECORD_HEADER;
    let runEnd = heads[chunk.from] + recordSize(chunk.firstLength);
    const last = chunk.from + chunk.count;
    for (let i = chunk.from + 1; i < last; i++) {
      const head = heads[i];
      const size = recordSize(src[(head + L.R_LENGTH) >> 2]);
      if (head === runEnd) {
        runEnd += size;
        continue;
      }
      u8.set(from.u8.subarray(runStart, runEnd), to);
      to += runEnd - runStart;
      runStart = head;
      runEnd = head + size;
    }
    u8.set(from.u8.subarray(runStart, runEnd), to);
    let at = base + recordSize(chunk.firstLength);
    for (let i = chunk.from + 1; i < last; i++) {
      i32[at >> 2] = copiedMeta(i32[at >> 2], topics[i]) | L.STATE_COMMITTED;
      writeSeq(i32, at, seq + i - chunk.from);
      at += recordSize(i32[(at + L.R_LENGTH) >> 2]);
    }
  }

  /** Copies a staged chunk (`image` holds the staged batch, or names the records to copy) into its claim at `position` and commits it. */
  private commitChunk(position: number, seq: number, chunk: Chunk, image: Uint8Array | Records): void {
    const { ring } = this;
    const index = position & ring.mask;
    try {
      if (!(image instanceof Uint8Array)) this.copyRecords(index, seq, chunk, image);
      else {
        const words = new Int32Array(image.buffer, image.byteOffset, image.byteLength >> 2);
        let at = chunk.start;
        for (let i = 0; i < chunk.count; i++) {
          writeSeq(words, at, seq + i);
          at += recordSize(words[(at + L.R_LENGTH) >> 2]);
        }
        // The first header belongs to the claim (written by the core); copy from its payload on.
        ring.u8.set(image.subarray(chunk.start + L.RECORD_HEADER, chunk.end), ring.data + index + L.RECORD_HEADER);
      }
    } catch (cause) {
      this.abort(position, seq);
      throw cause;
    }
    this.commit(position, seq, chunk.firstLength, chunk.count, chunk.bytes);
  }

  private reserveStaging(bytes: number): void {
    if (bytes <= this.staging.length) return;
    let size = this.staging.length;
    while (size < bytes) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.staging);
    this.staging = grown;
    this.stagingWords = new Int32Array(grown.buffer);
  }

  /**
   * A zero-copy claim of `count` raw records of `byteLength` bytes each: record i's
   * payload starts at `i * stride` in the returned view. The headers of all but the first
   * record are written here; the caller writes payloads and commits once.
   */
  claimRaw(topicId: number, byteLength: number, count: number, timeoutMs: number): Claim {
    this.checkNothingQueued('claim');
    const { ring } = this;
    const stride = recordSize(byteLength);
    const meta = this.meta(topicId, CODEC_RAW);
    this.limit(timeoutMs);
    const position = this.claimSync(count * stride, count, meta, 'claim');
    const seq = this.seqOf(position);
    const start = ring.data + (position & ring.mask) + L.RECORD_HEADER;
    const bytes = ring.u8.subarray(start, start + (count - 1) * stride + byteLength);
    return new Claim(this, ring, { position, seq, meta }, count, stride, bytes);
  }
}

/** A batch's timeout, told which call it was and how much of the batch went out. */
/** A user's WaitStrategy said the wait was over without the condition holding. */
function brokenStrategy(wait: WaitStrategy): InvalidOptionError {
  return new InvalidOptionError(
    `the wait strategy "${String(wait.name)}" returned true while the ring had no space: a WaitStrategy must return true only when ready() did`,
  );
}

/** An async publish whose time ran out while it waited for its turn. */
function queuedTimeout(call: string, timeoutMs: number): TimeoutError {
  return new TimeoutError(`${call} (waiting for its turn behind this thread's earlier async publishes, counted from the call)`, Math.round(timeoutMs));
}

function batchTimeout(error: unknown, call: string, timeoutMs: number, published: number, total: number): unknown {
  if (!(error instanceof TimeoutError)) return error;
  return new TimeoutError(`${call} (waiting for space in the ring)`, Math.round(timeoutMs), { published, total });
}

/** The topic id of every record of a batch, or of each in turn. */
export type Topics = number | readonly number[];

/** The key hash (src/key.ts) of every record of a batch, or of each in turn. */
export type Keys = number | Int32Array;

interface Chunk {
  start: number;
  end: number;
  count: number;
  firstLength: number;
  meta: number;
  /** Payload bytes of its records; -1 once they are of several topics. */
  bytes: number;
  /** A chunk of records copied from another ring: the index of its first in their `heads` (else 0). */
  from: number;
}

/** Records to copy from the ring `from` (headers at `heads`) under the topics `topics`, index for index. */
interface Records {
  from: Ring;
  topics: readonly number[];
  heads: readonly number[];
}

/** A copied record's meta word (no state): the topic is the new ring's, the codec and key flag stay. */
function copiedMeta(meta: number, topic: number): number {
  return (keptMeta(meta) | (topic << L.TOPIC_SHIFT)) >>> 0;
}

/** What the core said of a claim, kept until its commit. */
interface ClaimTicket {
  position: number;
  seq: number;
  meta: number;
}

/** Values in the chunks before chunk `done`. */
function publishedIn(chunks: readonly Chunk[], done: number): number {
  let n = 0;
  for (let i = 0; i < done; i++) n += chunks[i].count;
  return n;
}

/**
 * Space in the ring reserved for raw records, written in place. Record i's payload is
 * `bytes.subarray(i * stride, i * stride + byteLength)`; the bytes between payloads are
 * the next records' headers, which commit() writes, so filling the whole view is harmless.
 * Then `commit()`, or `abort()` if the records cannot be written: while the claim is open,
 * every reader behind it waits (and, once the ring is full, every producer). Nobody else
 * revokes it while this thread lives; if the thread dies, its claim is revoked.
 */
export class Claim {
  #state: 'open' | 'committed' | 'aborted' = 'open';
  readonly #producer: Producer;
  readonly #ring: Ring;
  readonly #ticket: ClaimTicket;

  /** Use bus.claim(). */
  constructor(
    producer: Producer,
    ring: Ring,
    ticket: ClaimTicket,
    readonly count: number,
    /** Bytes from one record's payload to the next. */
    readonly stride: number,
    readonly bytes: Uint8Array,
  ) {
    this.#producer = producer;
    this.#ring = ring;
    this.#ticket = ticket;
  }

  /** Publishes every record of the claim at once. */
  commit(): void {
    if (this.#state !== 'open') throw new ClaimClosedError(this.#state);
    this.#state = 'committed';
    const ring = this.#ring;
    const ticket = this.#ticket;
    const { count, stride } = this;
    const length = count === 1 ? this.bytes.length : this.bytes.length - (count - 1) * stride;
    const words = ring.i32;
    let at = ring.data + (ticket.position & ring.mask) + stride;
    for (let i = 1; i < count; i++, at += stride) {
      words[at >> 2] = ticket.meta | L.STATE_COMMITTED;
      words[(at + L.R_LENGTH) >> 2] = length;
      writeSeq(words, at, ticket.seq + i);
    }
    this.#producer.commit(ticket.position, ticket.seq, length, count, length * count);
  }

  /** Gives the claim up unpublished: readers skip it. Returns false when it was no longer open. */
  abort(): boolean {
    if (this.#state !== 'open') return false;
    this.#state = 'aborted';
    return this.#producer.abort(this.#ticket.position, this.#ticket.seq);
  }
}
