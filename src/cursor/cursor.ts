import { ClaimWatch } from '../claim-watch.js';
import type { Codec } from '../codec.js';
import { DecodeError, InvalidOptionError, RingbusError, UnknownReaderError } from '../errors.js';
import * as L from '../layout.js';
import { codecOf, isEvent, keyBytes, readSeq, recordSize, topicOf } from '../record.js';
import { closedHere, disownSlot, findSlot, openedHere, releaseSlot, slotGroup, slotKind, slotName } from '../registry.js';
import type { Ring } from '../ring.js';
import type { BusEvent, BusHandle, Handler, RawRecord } from '../types.js';
import type { WaitSite } from '../wait-strategy.js';

/** Errors of records this thread's readers consumed because they cannot be decoded. */
const skipped = new WeakSet<DecodeError>();
/** Thrown inside a walk to end it before the current record, which stays for the next read. */
const STOP_BEFORE = Symbol('stop before this record');

/** A `for await` with a backlog gives its event loop a turn this often (ms), reading the clock every TURN_EVENTS events. */
const TURN_MS = 10;
const TURN_EVENTS = 16;

/** The reused RawRecord: topic, codec and seq are read from the header only when asked for. */
export class RecordView implements RawRecord {
  offset = 0;
  length = 0;
  meta = 0;
  /** Where the record's header lies (a keyed record's payload starts after its key). */
  head = 0;
  constructor(
    readonly bytes: Uint8Array,
    private readonly words: Int32Array,
    private readonly topics: readonly string[],
  ) {}

  get seq(): number {
    return readSeq(this.words, this.head);
  }

  get topic(): string {
    return this.topics[topicOf(this.meta)];
  }

  get codec(): number {
    return codecOf(this.meta);
  }
}

/** The value readBatch() holds for a record that cannot be decoded. */
export class Undecodable {
  constructor(readonly error: DecodeError) {}
}

/** A batch of events held by readBatch(), in parallel arrays: no object per event. */
export interface HeldBatch {
  values: unknown[];
  topics: string[];
  seqs: number[];
  /** Where each event's record header lies in the ring's memory. */
  heads: number[];
}

/** Decides, record by record, which events of the ring are this cursor's (a keyed member's partitions). */
export interface Partitions {
  owns(i32: Int32Array, at: number, meta: number, position: number): boolean;
}

/** What every cursor is opened with, whatever its contract. */
export interface CursorSetup {
  ring: Ring;
  name: string;
  /** Topic ids to deliver (1) or skip; null: all. */
  filter: Uint8Array | null;
  /** Slots of the readers (or groups) this one comes after, named in `after`. */
  deps: number[];
  after: readonly string[];
  /** Decoders by codec id (see codecTable()). */
  codecs: readonly Codec<any>[];
  /** Marks the slot as held by this cursor, so that a stale object cannot free a successor's slot. */
  owner: number;
}

const isGroup = (kind: number) => kind === L.KIND_GROUP || kind === L.KIND_KEYED_GROUP;

/** Checks `after` and returns the slots this reader comes after; `unknown` makes the error for one not in the registry. */
export function dependencies(
  ring: Ring,
  name: string,
  after: readonly string[],
  unknown: (dep: string, i: number) => RingbusError = (dep) => new UnknownReaderError(dep),
): number[] {
  return after.map((dep, i) => {
    if (dep === name)
      throw new InvalidOptionError(`reader "${name}" cannot come after itself: it would wait for its own position for ever; list the readers it must follow`);
    const slot = findSlot(ring, dep);
    if (slot < 0) throw unknown(dep, i);
    if (slotKind(ring, slot) === L.KIND_LOSSY)
      throw new InvalidOptionError(`"${dep}" is a lossy reader; a reader can only depend on readers that see every event`);
    if (slotKind(ring, slot) === L.KIND_MEMBER || slotKind(ring, slot) === L.KIND_KEYED_MEMBER) {
      const groupName = slotName(ring, slotGroup(ring, slot));
      throw new InvalidOptionError(`"${dep}" is a member of group "${groupName}": depend on the group, after: ["${groupName}"]`);
    }
    return slot;
  });
}

/**
 * The readers open in this thread that follow others, per ring, by owner word: readers that
 * follow each other in a cycle would wait for ever. Only this thread's are known (the ring
 * does not keep `after` lists), so a cycle through readers of other threads is not seen.
 */
const followersHere = new WeakMap<object, Map<number, { name: string; group: string | undefined; after: readonly string[] }>>();

/** Throws InvalidOptionError where `name` (of `group`) following `after` closes a cycle among this thread's open readers. */
export function refuseCycle(ring: Ring, name: string, group: string | undefined, after: readonly string[]): void {
  if (group !== undefined && after.includes(group))
    throw new InvalidOptionError(
      `member "${name}" cannot come after its own group "${group}": the group waits for its members, so it would wait for itself for ever`,
    );
  const open = followersHere.get(ring.handle.memory);
  if (open === undefined || after.length === 0) return;
  for (const first of after) {
    const seen = new Set<string>();
    const stack = [first];
    while (stack.length > 0) {
      const dep = stack.pop()!;
      if (dep === name || dep === group)
        throw new InvalidOptionError(
          `reader "${name}" cannot come after "${first}": "${first}" already comes after "${dep === name ? name : `its group "${dep}"`}" (through readers open in this thread), and readers that follow each other in a cycle wait for ever; break the cycle`,
        );
      if (seen.has(dep)) continue;
      seen.add(dep);
      for (const reader of open.values()) if (reader.name === dep || reader.group === dep) stack.push(...reader.after);
    }
  }
}

/** A reader of this thread opened with `after` (or, with none, undefined `after`: forgotten). */
export function follows(ring: Ring, owner: number, name: string, group: string | undefined, after: readonly string[] | undefined): void {
  let open = followersHere.get(ring.handle.memory);
  if (after === undefined || after.length === 0) {
    open?.delete(owner);
    return;
  }
  if (open === undefined) followersHere.set(ring.handle.memory, (open = new Map()));
  open.set(owner, { name, group, after });
}

/** Cursors of this thread whose for await loop is running: its body holds an event uncommitted. */
const iterating = new Set<Cursor<unknown>>();

/**
 * A cursor of this thread, on the ring of `memory`, whose for await body holds an event
 * before `position`: a drain() to there awaited in that body would wait for itself.
 */
export function iteratingBefore(memory: BusHandle['memory'], position: number): Cursor<unknown> | undefined {
  for (const cursor of iterating) {
    if (cursor.ring.handle.memory === memory && cursor.gates && cursor.open && cursor.ring.core.holdPosition(cursor.slot) < position) return cursor;
  }
  return undefined;
}

/**
 * One reader's position in the ring under one concurrency contract (gating, lossy, group
 * member, keyed group member): what is readable, how it is consumed, how the slot is let
 * go. The record walk, decoding and iteration they share live here; each subclass says
 * only what its contract changes.
 */
export abstract class Cursor<T> {
  readonly ring: Ring;
  readonly name: string;
  readonly slot: number;
  /** The group's slot for a member, else L.NO_SLOT. */
  readonly group: number;
  /** Where the cursor waits for events (the cursor futex when it waits for other readers too). */
  readonly site: WaitSite;
  protected index: number;
  protected position: number;
  /** Bytes readable by the last fill(), not consumed yet. */
  pending = 0;
  open = true;
  /** A takeover in this thread closed it: nothing of it may move the slot any more. */
  protected takenOver = false;
  /** Ended by unsubscribe(), not close(): the slot is freed rather than handed on. */
  forget = false;
  /** What read() returned and commit() will consume (holding false: nothing). */
  holding = false;
  private heldBytes = 0;
  private heldEvents = 0;
  private heldNextSeq = -1;
  protected readonly owner: number;
  protected readonly filter: Uint8Array | null;
  /** A keyed member's partitions; null for every other cursor. */
  protected partitions: Partitions | null = null;
  private readonly deps: number[];
  private readonly after: readonly string[];
  /** The registry's epoch when `deps` were last looked up by name. */
  private depsEpoch: number;
  /** Which of `deps` were groups when last looked up (what to open to create one again). */
  private readonly depGroups: boolean[];
  private readonly codecs: readonly Codec<any>[];
  /** Finds the claims of dead threads this cursor is stuck behind. */
  private readonly claims: ClaimWatch;
  private readonly record: RecordView;
  /** for await: events since the clock was last read, and when the event loop is next due a turn (see turnDueNow()). */
  private sinceTurn = 0;
  private turnDue = 0;

  protected constructor(setup: CursorSetup, slot: number, group: number, onCursors: boolean) {
    const { ring } = setup;
    this.ring = ring;
    this.name = setup.name;
    this.slot = slot;
    this.group = group;
    this.owner = setup.owner;
    this.filter = setup.filter;
    this.deps = setup.deps;
    this.after = setup.after;
    this.depsEpoch = Atomics.load(ring.i32, ring.word(L.H_EPOCH));
    this.depGroups = this.deps.map((dep) => isGroup(slotKind(ring, dep)));
    this.codecs = setup.codecs;
    this.record = new RecordView(ring.u8, ring.i32, ring.topics);
    this.index = ring.core.cursorIndex(slot);
    this.position = ring.core.cursor(slot);
    // Commits wake the cursor futex too.
    const futex = onCursors || this.deps.length > 0 ? L.H_CURSOR_FUTEX : L.H_DATA_FUTEX;
    const waiters = onCursors || this.deps.length > 0 ? L.H_CURSOR_WAITERS : L.H_DATA_WAITERS;
    const site = { words: ring.i32, futex: ring.word(futex), waiters: ring.word(waiters), sliceMs: 100 };
    this.site = site;
    this.claims = new ClaimWatch(ring, site, 100);
    openedHere(this.owner, () => {
      this.open = false;
      this.takenOver = true;
      follows(ring, this.owner, this.name, undefined, undefined);
      ring.core.wakeAll(); // a for await of it waiting in this thread ends
    });
  }

  /** Bytes readable now, up to `max` events, under this cursor's contract (0: none). */
  protected abstract available(max: number): number;

  /** The position whose claim, if its thread died, this cursor waits behind. */
  protected claimFloor(): number {
    return this.ring.core.cursor(this.slot);
  }

  /** The position this cursor has consumed everything below. */
  protected head(): number {
    return this.ring.core.cursor(this.slot);
  }

  /** Refuses pollRaw() where the contract cannot hand out views of the ring. */
  refuseViews(): void {}

  /** Refuses read()/commit() where the contract cannot redeliver. */
  refuseHolding(): void {}

  /** Refuses unsubscribe() where it would lose events nobody else gets. */
  refuseUnsubscribe(): void {}

  /** Bytes readable now, up to `max` events. */
  fill(max: number): number {
    this.pending = this.available(max);
    // Nothing here: perhaps a claim whose thread died, which this thread can bury itself.
    if (this.pending === 0 && this.claims.check(this.claimFloor())) return this.fill(max);
    return this.pending;
  }

  consume(bytes: number, events: number, nextSeq: number): void {
    // Taken over from inside its own delivery: the slot's position is the successor's now.
    if (bytes === 0 || this.takenOver) return;
    this.ring.core.advance(this.slot, bytes, events, nextSeq);
    this.pending -= bytes;
    this.index = (this.index + bytes) & this.ring.mask;
    this.position += bytes;
  }

  /** The slot is no longer this object's: handed on (close) or freed (unsubscribe). */
  letGo(): void {
    closedHere(this.owner);
    follows(this.ring, this.owner, this.name, undefined, undefined);
    this.release();
  }

  /** Hands the slot on (close) or frees it (unsubscribe), as this contract does. */
  protected release(): void {
    if (this.forget) releaseSlot(this.ring, this.slot, this.owner);
    else disownSlot(this.ring, this.slot, this.owner);
  }

  /** Whether its position holds producers back, and drain() waits for it: every cursor but a lossy one. */
  get gates(): boolean {
    return true;
  }

  /** True once the bus is closed and this cursor has read everything published before. */
  get ended(): boolean {
    return this.pending === 0 && this.tookAll;
  }

  /** The bus is closed and this cursor has taken everything published (some of it may be pending still). */
  private get tookAll(): boolean {
    return this.ring.closed && this.head() >= this.ring.core.tailPosition();
  }

  /**
   * How far the readers this one comes after have consumed (-1: it follows none). They
   * are followed by name, not by slot: one unsubscribed leaves a free slot that another
   * reader may take, which held this reader still for ever, or let it follow the stranger.
   */
  protected depLimit(): number {
    const deps = this.deps;
    if (deps.length === 0) return -1;
    const { i32 } = this.ring;
    // a registration anywhere bumps the epoch; a slot freed without one shows in its kind
    let moved = Atomics.load(i32, this.ring.word(L.H_EPOCH)) !== this.depsEpoch;
    for (let i = 0; i < deps.length && !moved; i++) moved = slotKind(this.ring, deps[i]) === L.KIND_FREE;
    if (moved) {
      const gone = this.findDeps();
      if (gone !== undefined) {
        // a closed bus read to its end holds nothing more back: the reader ends rather than fails
        if (this.tookAll) return -1;
        throw gone;
      }
    }
    let limit = Infinity;
    for (const dep of deps) limit = Math.min(limit, this.ring.core.holdPosition(dep));
    return limit;
  }

  /**
   * Looks the readers of `after` up again and returns undefined, or the error that one no
   * longer in the registry (or no longer one to follow) is. On an error nothing is kept: every
   * later look fails again until the registry holds them all, and never follows the stale slot.
   */
  private findDeps(): RingbusError | undefined {
    const epoch = Atomics.load(this.ring.i32, this.ring.word(L.H_EPOCH)); // before the look: a change during it is seen next time
    let slots: number[];
    try {
      slots = dependencies(this.ring, this.name, this.after, (dep, i) => new UnknownReaderError(dep, this.name, this.depGroups[i]));
    } catch (error) {
      if (error instanceof RingbusError) return error; // gone, or created again as a lossy reader or a member
      throw error;
    }
    slots.forEach((slot, i) => {
      this.deps[i] = slot;
      this.depGroups[i] = isGroup(slotKind(this.ring, slot));
    });
    this.depsEpoch = epoch;
    return undefined;
  }

  /** Delivers up to `max` events, decoded, and commits the position once. */
  poll(handler: Handler<T>, max: number): number {
    const bytes = this.fill(max);
    if (bytes === 0) return 0;
    const u8 = this.ring.u8;
    return this.walk(bytes, max, (record) => {
      handler(this.decodeAt(record.codec, u8, record.offset, record.length, record.head), record.topic, record.seq);
    });
  }

  pollRaw(handler: (record: RawRecord) => void, max: number): number {
    const bytes = this.fill(max);
    return bytes === 0 ? 0 : this.walk(bytes, max, handler);
  }

  /**
   * Hands the events in the next `bytes` (at most `max`, skipping padding, revoked claims,
   * filtered topics and partitions not owned) to `visit` as the reused record, then
   * commits the position once (or, with `hold`, keeps it for commit()). If `visit` throws,
   * the events before it stay committed and the failing one comes again on the next poll;
   * if it closes the cursor, the walk stops after it. The one loop over records: pollRaw's
   * handler is called from it directly, without a wrapper, because this is the hot path.
   */
  protected walk(bytes: number, max: number, visit: (record: RecordView) => void, hold = false): number {
    const { i32, data, mask } = this.ring;
    const filter = this.filter;
    const partitions = this.partitions;
    const base = this.position;
    const record = this.record;
    const index = this.index;
    let off = 0;
    let delivered = 0;
    let lastEvent = -1; // header of the last event walked: its seq + 1 is committed with the position
    let at = 0;
    let length = 0;
    let stopped = false;
    try {
      while (off < bytes && delivered < max) {
        at = data + ((index + off) & mask);
        const meta = i32[at >> 2];
        length = i32[(at + L.R_LENGTH) >> 2];
        // Plain reads: the core's scan (fill()) loaded each of these headers atomically,
        // acquiring what their commit published, and this cursor keeps producers off them
        // until consume() moves it. isEvent(), topicOf() and keyBytes() spelled out: as calls
        // they cost pollRaw() 8%.
        if ((meta & L.STATE_MASK) === L.STATE_COMMITTED && ((meta >> L.FLAGS_SHIFT) & L.FLAG_PADDING) === 0) {
          if ((filter === null || filter[meta >>> L.TOPIC_SHIFT] === 1) && (partitions === null || partitions.owns(i32, at, meta, base + off))) {
            const key = (meta & L.KEYED_META) === 0 ? 0 : L.KEY_BYTES;
            record.head = at;
            record.offset = at + L.RECORD_HEADER + key;
            record.length = length - key;
            record.meta = meta;
            visit(record);
            delivered++;
          }
          lastEvent = at; // only once its handler returned
        }
        off += recordSize(length);
        if (!this.open) break;
      }
    } catch (error) {
      if (error === STOP_BEFORE) {
        stopped = true;
      } else if (error instanceof DecodeError && skipped.has(error)) {
        off += recordSize(length); // consumed, not delivered (see undecodable())
        lastEvent = at;
      }
      if (!stopped) throw error;
    } finally {
      if (!hold || stopped || off === bytes || delivered === max) this.settle(off, delivered, lastEvent, hold);
      else if (delivered === 0 && off > 0) this.settle(off, 0, lastEvent, false);
    }
    return delivered;
  }

  /**
   * After a walk over `off` bytes that delivered `delivered` events, the last at header
   * `lastEvent` (-1: none): commits them, or with `hold` keeps them for commit().
   */
  private settle(off: number, delivered: number, lastEvent: number, hold: boolean): void {
    const nextSeq = lastEvent < 0 ? -1 : readSeq(this.ring.i32, lastEvent) + 1;
    // Held bytes with no event in them (padding, revoked claims, an undecodable record) are
    // consumed at once: read() returns nothing, and nothing would ever commit them.
    if (!hold || (delivered === 0 && off > 0)) {
      this.consume(off, delivered, nextSeq);
    } else {
      this.holding = true;
      this.heldBytes = off;
      this.heldEvents = delivered;
      this.heldNextSeq = nextSeq;
    }
  }

  /** Decodes up to `max` events into `take`, held until commit(). */
  readEach(max: number, take: Handler<T>): void {
    const bytes = this.fill(max);
    if (bytes === 0) return;
    const u8 = this.ring.u8;
    let taken = 0;
    this.walk(
      bytes,
      max,
      (record) => {
        let value: T;
        try {
          value = this.decodeAt(record.codec, u8, record.offset, record.length, record.head);
        } catch (error) {
          // The events before it are returned, to commit; the next read() reports it.
          if (taken > 0) throw STOP_BEFORE;
          throw error;
        }
        taken++;
        take(value, record.topic, record.seq);
      },
      true,
    );
  }

  /**
   * Reads up to `max` events into `into` (from index 0), held until commit(): each event's
   * header position, topic and seq, and with `decode` its value. For the pipeline's stage
   * workers, which forward records as they lie and decode only what a handler asks for.
   * Returns the number of events. walk() spelled out: through it, a call of its visitor per
   * record (and the record's getters) cost this a third. A record that cannot be decoded is
   * held like the others, its value an Undecodable (not consumed and thrown, as read() does:
   * the caller dead-letters it before the batch is committed).
   */
  readBatch(max: number, into: HeldBatch, decode: boolean): number {
    const bytes = this.fill(max);
    if (bytes === 0) return 0;
    const { i32, u8, data, mask, topics: names } = this.ring;
    const { values, heads, topics, seqs } = into;
    const filter = this.filter;
    const partitions = this.partitions;
    const base = this.position;
    const index = this.index;
    let off = 0;
    let n = 0;
    let lastEvent = -1;
    while (off < bytes && n < max) {
      const at = data + ((index + off) & mask);
      const meta = i32[at >> 2];
      const length = i32[(at + L.R_LENGTH) >> 2];
      // plain reads, as in walk()
      if ((meta & L.STATE_MASK) === L.STATE_COMMITTED && ((meta >> L.FLAGS_SHIFT) & L.FLAG_PADDING) === 0) {
        if ((filter === null || filter[meta >>> L.TOPIC_SHIFT] === 1) && (partitions === null || partitions.owns(i32, at, meta, base + off))) {
          if (decode) {
            const key = (meta & L.KEYED_META) === 0 ? 0 : L.KEY_BYTES;
            try {
              values[n] = this.decodeAt((meta >> L.CODEC_SHIFT) & L.CODEC_MASK, u8, at + L.RECORD_HEADER + key, length - key, at);
            } catch (error) {
              if (!(error instanceof DecodeError)) throw error;
              // held with the others, so that it is consumed only when the batch is committed
              values[n] = new Undecodable(error);
            }
          }
          heads[n] = at;
          topics[n] = names[meta >>> L.TOPIC_SHIFT];
          seqs[n++] = readSeq(i32, at);
        }
        lastEvent = at;
      }
      off += recordSize(length);
    }
    this.settle(off, n, lastEvent, true);
    return n;
  }

  /** Decodes the event whose header lies at `head` (one readBatch() returned, not yet committed). */
  valueAt(head: number): T {
    const meta = this.ring.i32[head >> 2];
    const key = keyBytes(meta);
    return this.decodeAt(codecOf(meta), this.ring.u8, head + L.RECORD_HEADER + key, this.ring.i32[(head + L.R_LENGTH) >> 2] - key, head);
  }

  /** Commits what the last read() returned. */
  commit(): void {
    if (!this.holding) return;
    this.holding = false;
    this.consume(this.heldBytes, this.heldEvents, this.heldNextSeq);
  }

  /**
   * The events of a `for await`, one at a time: an event's position is committed when the
   * loop asks for the next one; a loop left early leaves it uncommitted, to come again.
   * `wait` waits for events (false: there will be none). It steps over one record at a
   * time rather than through walk(): sharing walk() made walk's call of its visitor
   * polymorphic, which cost pollRaw() 16% and this loop 9%.
   */
  async *iterate(batchSize: number, signal: AbortSignal | undefined, wait: () => Promise<boolean>): AsyncGenerator<BusEvent<T>, void, undefined> {
    const { i32, u8, data, mask, topics } = this.ring;
    iterating.add(this);
    try {
      this.startTurns();
      for (;;) {
        if (!this.open) return;
        signal?.throwIfAborted();
        const bytes = this.pending > 0 ? this.pending : this.fill(batchSize);
        if (bytes === 0) {
          if (this.ended) return;
          await wait();
          this.startTurns();
          continue;
        }
        const at = data + (this.index & mask);
        // Plain reads: fill() scanned this header atomically and the cursor still gates it (see walk()).
        const meta = i32[at >> 2];
        const length = i32[(at + L.R_LENGTH) >> 2];
        const size = recordSize(length);
        if (!isEvent(meta)) {
          this.consume(size, 0, -1);
          continue;
        }
        const seq = readSeq(i32, at);
        const topic = topicOf(meta);
        if ((this.filter !== null && this.filter[topic] !== 1) || (this.partitions !== null && !this.partitions.owns(i32, at, meta, this.position))) {
          this.consume(size, 0, seq + 1);
          continue;
        }
        const key = keyBytes(meta);
        let value: T;
        try {
          value = this.decodeAt(codecOf(meta), u8, at + L.RECORD_HEADER + key, length - key, at);
        } catch (error) {
          this.consume(size, 0, seq + 1); // see undecodable()
          throw error;
        }
        yield { topic: topics[topic], seq, value };
        if (!this.open) return; // closed by the loop body: the position is no longer ours to move
        this.consume(size, 1, seq + 1);
        if (this.turnDueNow()) await this.takeTurn();
      }
    } finally {
      iterating.delete(this);
    }
  }

  protected startTurns(): void {
    this.turnDue = performance.now() + TURN_MS;
  }

  /**
   * A `for await` that always finds events never waits, so it would hold its thread's event
   * loop for as long as the backlog lasts: no timer, message or I/O of that thread would
   * run. It gives the loop a turn (one setImmediate) once TURN_MS have passed, checking the
   * clock every TURN_EVENTS events.
   */
  protected turnDueNow(): boolean {
    if (++this.sinceTurn < TURN_EVENTS) return false;
    this.sinceTurn = 0;
    return performance.now() >= this.turnDue;
  }

  protected async takeTurn(): Promise<void> {
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.turnDue = performance.now() + TURN_MS;
  }

  /** Decodes the record at `memory[offset, offset + length)`, in place where the codec can. */
  protected decodeAt(id: number, memory: Uint8Array, offset: number, length: number, at: number): T {
    const codec = this.codecs[id];
    try {
      if (codec?.decodeRange === undefined) return this.decode(id, memory.subarray(offset, offset + length));
      return codec.decodeRange(memory, offset, offset + length) as T;
    } catch (cause) {
      // Plain reads of a header the caller's walk has already read (and published).
      throw this.undecodable(id, memory.slice(offset, offset + length), cause, readSeq(this.ring.i32, at), topicOf(this.ring.i32[at >> 2]));
    }
  }

  /**
   * The error for a record no codec of this reader can decode. Such a record is consumed
   * (the walk steps over it): delivered again it would fail again, and hold every reader
   * behind it for ever. The error carries the record, bytes copied, for whoever can decode it.
   */
  protected undecodable(id: number, bytes: Uint8Array, cause: unknown, seq: number, topic: number): DecodeError {
    if (cause instanceof DecodeError && skipped.has(cause)) return cause;
    const record = { seq, topic: this.ring.topics[topic], codec: id, bytes };
    const why = cause instanceof DecodeError ? cause.message : `codec ${id} could not decode it: ${String((cause as Error)?.message ?? cause)}`;
    const error = new DecodeError(
      `reader "${this.name}": the record of seq ${record.seq} on "${record.topic}" cannot be decoded (${why}); it was consumed, and the error's record holds its bytes`,
      record,
      { cause },
    );
    skipped.add(error);
    return error;
  }

  protected decode(id: number, bytes: Uint8Array): T {
    const codec = this.codecs[id];
    if (codec === undefined) {
      throw new DecodeError(`reader "${this.name}" got a record in codec ${id}, which it does not know; pass that codec in reader options { codecs: [...] }`);
    }
    return codec.decode(bytes) as T;
  }
}
