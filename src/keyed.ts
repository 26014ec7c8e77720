import { threadId } from 'node:worker_threads';
import { osThreadId, threadAlive } from './claim-watch.js';
import { InvalidOptionError, KeyedGroupLimitError, ReaderBusyError, ReaderClosedError } from './errors.js';
import * as L from './layout.js';
import { keyBytes } from './record.js';
import { findSlot, takenOverHere, nameToBytes, openLocked, slotGroup, slotKind, withRegistryLock } from './registry.js';
import type { Ring } from './ring.js';
import { onThreadDeath, ownerOf } from './thread-deaths.js';

/**
 * Keyed consumer groups (docs/PROTOCOL.md, "Keyed groups"). Every member reads the whole
 * ring with a gating cursor of its own and delivers the records of the partitions it owns.
 * A block of shared memory per group holds its members and a partition table: each
 * partition's owner, the block version at which it moved there, and the position from
 * which that owner delivers it. Joins, leaves and deaths rewrite the table under the
 * registry lock; each member adopts a new version before its next read.
 */

const TWO_32 = 4294967296;
/** Least time between two looks for dead members' threads. */
const LOOK_MS = 20;

function load(ring: Ring, at: number): number {
  return Atomics.load(ring.i32, at >> 2);
}

function store(ring: Ring, at: number, value: number): void {
  Atomics.store(ring.i32, at >> 2, value);
}

function loadPosition(ring: Ring, at: number): number {
  return (Atomics.load(ring.i32, at >> 2) >>> 0) + Atomics.load(ring.i32, (at >> 2) + 1) * TWO_32;
}

function storePosition(ring: Ring, at: number, position: number): void {
  Atomics.store(ring.i32, at >> 2, position % TWO_32);
  Atomics.store(ring.i32, (at >> 2) + 1, Math.floor(position / TWO_32));
}

const blockAt = (ring: Ring, b: number): number => ring.core.keyedOffset() + b * L.KEYED_BYTES;
const memberAt = (block: number, e: number): number => block + L.K_MEMBERS + e * L.KM_BYTES;
const partitionAt = (block: number, p: number): number => block + L.K_PARTITIONS + p * L.KP_BYTES;

function findBlock(ring: Ring, group: number): number {
  for (let b = 0; b < L.KEYED_GROUPS; b++) if (load(ring, blockAt(ring, b) + L.K_GROUP) === group + 1) return blockAt(ring, b);
  return -1;
}

function memberEntry(ring: Ring, block: number, slot: number): number {
  for (let e = 0; e < L.MAX_KEYED_MEMBERS; e++) if (load(ring, memberAt(block, e) + L.KM_SLOT) === slot + 1) return memberAt(block, e);
  return -1;
}

interface Member {
  slot: number;
  weight: number;
}

function members(ring: Ring, block: number): Member[] {
  const list: Member[] = [];
  for (let e = 0; e < L.MAX_KEYED_MEMBERS; e++) {
    const slot = load(ring, memberAt(block, e) + L.KM_SLOT) - 1;
    if (slot >= 0) list.push({ slot, weight: nameWeight(ring, slot) });
  }
  return list;
}

/** A member's weight comes from its name, so that a member reopened under its name gets its partitions back. */
function nameWeight(ring: Ring, slot: number): number {
  const at = ring.core.slotOffset(slot);
  // Plain reads: a registered slot's name does not change (see slotName()).
  const length = ring.i32[(at + L.S_NAME_LENGTH) >> 2];
  let h = 0x811c9dc5;
  for (let i = 0; i < length; i++) h = Math.imul(h ^ ring.u8[at + L.S_NAME + i], 0x01000193);
  return h;
}

/**
 * Rendezvous hashing: a partition goes to the member with the highest score, so a join
 * takes partitions only for the newcomer and a departure moves only the departed one's.
 */
function ownerOfPartition(p: number, list: readonly Member[]): number {
  let best = -1;
  let bestScore = -1;
  for (const m of list) {
    let h = Math.imul(m.weight ^ Math.imul(p + 1, 0x9e3779b1), 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    const score = (h ^ (h >>> 16)) >>> 0;
    if (score > bestScore || (score === bestScore && m.slot < best)) [best, bestScore] = [m.slot, score];
  }
  return best;
}

/** Marks the block as being changed (odd version); returns the version it will have. */
function beginChange(ring: Ring, block: number): number {
  const version = load(ring, block + L.K_VERSION) & ~1; // odd: a changer died half-way; this change repairs it
  store(ring, block + L.K_VERSION, version + 1);
  return version + 2;
}

function endChange(ring: Ring, block: number, version: number): void {
  store(ring, block + L.K_VERSION, version);
  ring.core.wakeAll(); // members asleep adopt the new table now
}

/** Lowers the group's floor (its gating cursor) to `position` if it is above. */
function lowerFloor(ring: Ring, group: number, position: number): void {
  if (position < ring.core.cursor(group)) ring.core.setCursorLocked(group, position);
}

export interface KeyedSlots {
  group: number;
  slot: number;
  block: number;
}

/**
 * What a member's `topics` select, as one word: a partition's owner delivers its records of
 * these topics only, so a member that took fewer than its peers would drop the others' events.
 */
export function topicsPrint(filter: Uint8Array | null, topics: number): number {
  let hash = 0x811c9dc5;
  for (let id = 0; id < topics; id++) {
    if (filter !== null && filter[id] !== 1) continue;
    hash = Math.imul(hash ^ (id & 0xffff), 0x01000193);
    hash = Math.imul(hash ^ (id >>> 16), 0x01000193);
  }
  return hash | 0;
}

function checkTopics(ring: Ring, block: number, group: string, name: string, topics: number): void {
  if (load(ring, block + L.K_TOPICS) === topics) return;
  throw new InvalidOptionError(
    `member "${name}" takes other topics than the members of keyed group "${group}": a key's owner delivers only its own topics, so the others' events of that key would reach nobody; open every member with the same topics option, or a group per set of topics`,
  );
}

/** Joins member `name` to keyed group `group`, creating the group where needed. */
export function joinKeyed(ring: Ring, group: string, name: string, request: { start: number; takeover: boolean; owner: number; topics: number }): KeyedSlots {
  const groupBytes = nameToBytes(group);
  const nameBytes = nameToBytes(name);
  return withRegistryLock(ring, () => {
    const existing = findSlot(ring, name);
    if (existing >= 0 && slotKind(ring, existing) === L.KIND_KEYED_MEMBER) {
      const its = slotGroup(ring, existing);
      if (findSlot(ring, group) !== its) throw new InvalidOptionError(`member "${name}" belongs to another keyed group; pick another member name`);
      if (!request.takeover) throw new ReaderBusyError(name);
      const block = findBlock(ring, its);
      if (block >= 0 && members(ring, block).some((m) => m.slot !== existing)) checkTopics(ring, block, group, name, request.topics);
      takenOverHere(Atomics.load(ring.i32, ring.slotWord(existing, L.S_OWNER)));
      departLocked(ring, its, existing);
    }
    const groupSlot = openLocked(ring, group, groupBytes, { kind: L.KIND_KEYED_GROUP, group: L.NO_SLOT, start: request.start, takeover: false, owner: 0 });
    let block = findBlock(ring, groupSlot);
    if (block < 0) block = newBlock(ring, groupSlot);
    const others = members(ring, block);
    if (others.length === 0) store(ring, block + L.K_TOPICS, request.topics);
    else checkTopics(ring, block, group, name, request.topics);
    let entry = -1;
    for (let e = 0; e < L.MAX_KEYED_MEMBERS && entry < 0; e++) if (load(ring, memberAt(block, e) + L.KM_SLOT) === 0) entry = memberAt(block, e);
    if (entry < 0)
      throw new KeyedGroupLimitError(`keyed group "${group}" has ${L.MAX_KEYED_MEMBERS} members, the most one group holds; close members you no longer need`);
    // Odd from before the newcomer's start is taken: no member reads past it by the old table (see KeyedView.current()).
    const before = load(ring, block + L.K_VERSION) & ~1;
    const version = beginChange(ring, block);
    let slot: number;
    try {
      // A member joining a running group starts at the tail: the partitions it takes start there.
      slot = openLocked(ring, name, nameBytes, {
        kind: L.KIND_KEYED_MEMBER,
        group: groupSlot,
        start: others.length > 0 ? L.START_NEWEST : request.start,
        takeover: false,
        owner: request.owner,
      });
    } catch (error) {
      store(ring, block + L.K_VERSION, before);
      if (others.length === 0) forgetBlock(ring, block, groupSlot);
      throw error;
    }
    store(ring, entry + L.KM_THREAD, ownerOf(threadId));
    store(ring, entry + L.KM_OS_THREAD, osThreadId());
    store(ring, entry + L.KM_ADOPTED, -1);
    store(ring, entry + L.KM_SLOT, slot + 1);
    const here = ring.core.cursor(slot);
    const all = [...others, { slot, weight: nameWeight(ring, slot) }];
    let floor = Infinity;
    for (let p = 0; p < L.PARTITIONS; p++) {
      const at = partitionAt(block, p);
      const owner = load(ring, at + L.KP_OWNER);
      const next = ownerOfPartition(p, all);
      if (next === owner) continue;
      const start = loadPosition(ring, at + L.KP_START);
      // An owner that has not adopted the partition yet, or still waits for the member it was
      // taken from, delivered none of it: it moves from where it was, owed by whoever owed it.
      if (owner >= 0 && (adoptedVersion(ring, block, owner) < load(ring, at + L.KP_VERSION) || owing(ring, block, at) >= 0)) {
        movePartition(ring, at, next, version, start, load(ring, at + L.KP_PREVIOUS), loadPosition(ring, at + L.KP_PREVIOUS_FROM));
        floor = Math.min(floor, start);
        continue;
      }
      // The old owner delivers it up to `here`, and owes that until its cursor gets there.
      movePartition(ring, at, next, version, here, owner, owner >= 0 ? start : 0);
      floor = Math.min(floor, here);
    }
    lowerFloor(ring, groupSlot, floor);
    endChange(ring, block, version);
    return { group: groupSlot, slot, block };
  });
}

function newBlock(ring: Ring, groupSlot: number): number {
  for (let b = 0; b < L.KEYED_GROUPS; b++) {
    const block = blockAt(ring, b);
    if (Atomics.compareExchange(ring.i32, (block + L.K_GROUP) >> 2, 0, groupSlot + 1) !== 0) continue;
    for (let e = 0; e < L.MAX_KEYED_MEMBERS; e++) store(ring, memberAt(block, e) + L.KM_SLOT, 0);
    for (let p = 0; p < L.PARTITIONS; p++) movePartition(ring, partitionAt(block, p), L.NO_SLOT, 0, 0);
    store(ring, block + L.K_VERSION, 0);
    return block;
  }
  ring.core.releaseReader(groupSlot); // created by this join: no member holds it
  throw new KeyedGroupLimitError(`a ring holds at most ${L.KEYED_GROUPS} keyed groups; close the members of one you no longer need`);
}

function forgetBlock(ring: Ring, block: number, groupSlot: number): void {
  ring.core.releaseReader(groupSlot);
  store(ring, block + L.K_GROUP, 0);
}

function movePartition(ring: Ring, at: number, owner: number, version: number, start: number, previous = L.NO_SLOT, previousFrom = 0): void {
  store(ring, at + L.KP_OWNER, owner);
  store(ring, at + L.KP_VERSION, version);
  storePosition(ring, at + L.KP_START, start);
  store(ring, at + L.KP_PREVIOUS, previous);
  storePosition(ring, at + L.KP_PREVIOUS_FROM, previousFrom);
}

/**
 * Whether a partition's owner has read past its start: it stopped waiting for the member
 * the partition was taken from, which had then delivered everything below it (a cursor
 * that went back since, for partitions gained later, does not undo that).
 */
function ownerPassed(ring: Ring, block: number, at: number, start: number): boolean {
  const owner = load(ring, at + L.KP_OWNER);
  return owner >= 0 && adoptedVersion(ring, block, owner) >= load(ring, at + L.KP_VERSION) && ring.core.cursor(owner) > start;
}

/**
 * The member a partition was taken from at a join, while it may still owe records of it
 * below the start (it has not adopted the move, or its cursor is below the start); -1 for none.
 */
function owing(ring: Ring, block: number, at: number): number {
  const previous = load(ring, at + L.KP_PREVIOUS);
  if (previous < 0) return -1;
  const entry = memberEntry(ring, block, previous);
  if (entry < 0) return -1;
  if (load(ring, entry + L.KM_ADOPTED) >= load(ring, at + L.KP_VERSION) && ring.core.cursor(previous) >= loadPosition(ring, at + L.KP_START)) return -1;
  return previous;
}

function adoptedVersion(ring: Ring, block: number, slot: number): number {
  const entry = memberEntry(ring, block, slot);
  return entry < 0 ? -1 : load(ring, entry + L.KM_ADOPTED);
}

/**
 * Member `slot` leaves (close, unsubscribe, or its thread died): its partitions go to the
 * others from the position it committed, and it stops gating only after the group's floor
 * holds that position for them. Under the registry lock.
 */
function departLocked(ring: Ring, groupSlot: number, slot: number): void {
  const block = findBlock(ring, groupSlot);
  if (block < 0) return;
  const entry = memberEntry(ring, block, slot);
  if (entry < 0) return;
  const committed = ring.core.cursor(slot);
  const adopted = load(ring, entry + L.KM_ADOPTED);
  store(ring, entry + L.KM_SLOT, 0);
  const rest = members(ring, block);
  if (rest.length === 0) {
    ring.core.releaseReader(slot);
    forgetBlock(ring, block, groupSlot);
    return;
  }
  const version = beginChange(ring, block);
  let floor = Infinity;
  for (let p = 0; p < L.PARTITIONS; p++) {
    const at = partitionAt(block, p);
    const owner = load(ring, at + L.KP_OWNER);
    const previous = load(ring, at + L.KP_PREVIOUS);
    if (owner !== slot && previous !== slot) continue;
    const start = loadPosition(ring, at + L.KP_START);
    const previousFrom = loadPosition(ring, at + L.KP_PREVIOUS_FROM);
    const adoptedIt = adopted >= load(ring, at + L.KP_VERSION);
    if (owner !== slot) {
      // Taken from it at a join, to be delivered by it up to the start: what it did not get to
      // goes to the new owner, which has delivered none of the partition while waiting for it.
      const from = Math.max(committed, previousFrom);
      if (from < start && !ownerPassed(ring, block, at, start)) {
        movePartition(ring, at, owner, version, from);
        floor = Math.min(floor, from);
      } else store(ring, at + L.KP_PREVIOUS, L.NO_SLOT);
      continue;
    }
    // It delivered the partition up to its committed position, or none of it if it never adopted
    // it; one it got back before it got to where it lost it, it delivered on from where it had it.
    let from = adoptedIt ? Math.max(committed, start) : start;
    if (previous === slot) from = Math.max(previousFrom, adoptedIt ? committed : Math.min(committed, start));
    // A member it was taken from still owes what lies below the start, unless it got past it.
    const owes = previous !== slot && from === start ? previous : L.NO_SLOT;
    movePartition(ring, at, ownerOfPartition(p, rest), version, from, owes, previousFrom);
    floor = Math.min(floor, from);
  }
  lowerFloor(ring, groupSlot, floor);
  ring.core.releaseReader(slot);
  endChange(ring, block, version);
}

/** Member `slot` of `groupSlot` leaves; `owner` is its Reader's token (a successor's slot is left alone). */
export function leaveKeyed(ring: Ring, groupSlot: number, slot: number, owner: number): void {
  withRegistryLock(ring, () => {
    if (Atomics.load(ring.i32, ring.slotWord(slot, L.S_OWNER)) !== owner) return;
    departLocked(ring, groupSlot, slot);
  });
}

/** Removes the keyed members whose thread `test` says is dead, in every keyed group of the ring. */
export function buryKeyedMembers(ring: Ring, dead: (thread: number, osThread: number) => boolean): void {
  for (let b = 0; b < L.KEYED_GROUPS; b++) {
    const block = blockAt(ring, b);
    if (load(ring, block + L.K_GROUP) === 0) continue;
    for (let e = 0; e < L.MAX_KEYED_MEMBERS; e++) {
      const at = memberAt(block, e);
      const slot = load(ring, at + L.KM_SLOT) - 1;
      if (slot < 0 || !dead(load(ring, at + L.KM_THREAD) - 1, load(ring, at + L.KM_OS_THREAD))) continue;
      withRegistryLock(ring, () => {
        if (load(ring, at + L.KM_SLOT) !== slot + 1) return;
        const group = load(ring, block + L.K_GROUP) - 1;
        if (group >= 0) departLocked(ring, group, slot);
      });
    }
  }
}

const rings = new Set<WeakRef<Ring>>();
const forget = new FinalizationRegistry<WeakRef<Ring>>((ref) => rings.delete(ref));

/** Keyed members of this ring whose thread this thread sees die (a worker it created) leave at once. */
export function watchKeyedDeaths(ring: Ring): void {
  const ref = new WeakRef(ring);
  rings.add(ref);
  forget.register(ring, ref);
}

onThreadDeath((thread) => {
  for (const ref of rings) {
    const ring = ref.deref();
    if (ring === undefined) rings.delete(ref);
    else buryKeyedMembers(ring, (t) => t === thread);
  }
});

const osThreadGone = (_thread: number, osThread: number): boolean => osThread > 0 && !threadAlive(osThread);

/**
 * One member's view of its group: which partitions it delivers, between which positions.
 * Record at position r of partition p is delivered when from[p] <= r < until[p].
 */
export class KeyedView {
  readonly from = new Float64Array(L.PARTITIONS).fill(Infinity);
  readonly until = new Float64Array(L.PARTITIONS).fill(Infinity);
  private readonly owned = new Uint8Array(L.PARTITIONS);
  private version = -1;
  /** Partitions taken over whose earlier holders may still deliver below `start`: held back until every other member has passed it. */
  private waits: { p: number; version: number; start: number }[] = [];
  private nextLook = 0;
  private readonly owners = new Int32Array(L.PARTITIONS);
  private readonly versions = new Int32Array(L.PARTITIONS);
  private readonly starts = new Float64Array(L.PARTITIONS);

  constructor(
    private readonly ring: Ring,
    private readonly name: string,
    readonly group: number,
    readonly slot: number,
    private readonly block: number,
  ) {}

  /**
   * Before each read: adopts a new table (true when it moved the cursor back), buries
   * members whose thread is gone, and lets the floor go once every member has adopted.
   */
  prepare(): boolean {
    const { ring } = this;
    const now = performance.now();
    if (now >= this.nextLook) {
      this.nextLook = now + LOOK_MS;
      buryKeyedMembers(ring, osThreadGone);
    }
    if (load(ring, this.block + L.K_GROUP) !== this.group + 1 || memberEntry(ring, this.block, this.slot) < 0) throw new ReaderClosedError(this.name);
    const rewound = this.adopt();
    if (ring.core.cursor(this.group) < L.PARKED_FROM) this.releaseFloor();
    return rewound;
  }

  /**
   * After a read of the tail: true when the table this member reads by is still the
   * current one. A change starts (odd version) before it picks positions, so a read that
   * saw no change found only records below them.
   */
  current(): boolean {
    return load(this.ring, this.block + L.K_VERSION) === this.version;
  }

  /** The position this member may not read past yet (-1: none). */
  limit(): number {
    let limit = Infinity;
    if (this.waits.length > 0) {
      this.waits = this.waits.filter((w) => this.owned[w.p] === 1 && !this.othersPassed(w.version, w.start));
      for (const w of this.waits) limit = Math.min(limit, w.start);
    }
    return limit === Infinity ? -1 : limit;
  }

  /** Whether the record at `at` (a header in the ring), at position `position`, is this member's. */
  owns(i32: Int32Array, at: number, meta: number, position: number): boolean {
    // Plain reads: the caller's walk has published this record (see readSeq()).
    const hash = keyBytes(meta) !== 0 ? i32[(at + L.RECORD_HEADER) >> 2] : i32[(at + L.R_SEQ) >> 2];
    const p = hash & (L.PARTITIONS - 1);
    return position >= this.from[p] && position < this.until[p];
  }

  private adopt(): boolean {
    const { ring, block } = this;
    const version = load(ring, block + L.K_VERSION);
    if (version === this.version || (version & 1) !== 0) return false;
    for (let p = 0; p < L.PARTITIONS; p++) {
      const at = partitionAt(block, p);
      this.owners[p] = load(ring, at + L.KP_OWNER);
      this.versions[p] = load(ring, at + L.KP_VERSION);
      this.starts[p] = loadPosition(ring, at + L.KP_START);
    }
    if (load(ring, block + L.K_VERSION) !== version) return false; // changed while read: next time
    const cursor = ring.core.cursor(this.slot);
    let rewind = cursor;
    for (let p = 0; p < L.PARTITIONS; p++) {
      const mine = this.owners[p] === this.slot;
      if (mine && this.owned[p] === 0 && this.from[p] < this.until[p] && cursor < this.until[p] && this.until[p] >= this.starts[p]) {
        // Back before this member got to where it lost it: it goes on from where it is.
        this.owned[p] = 1;
        this.until[p] = Infinity;
        if (this.from[p] < cursor) this.from[p] = cursor;
        continue;
      }
      if (mine && (this.owned[p] === 0 || this.versions[p] > this.version)) {
        // Held all along by this view (it went and came back unseen): it goes on from where it is.
        const from = this.owned[p] === 1 && this.from[p] < this.starts[p] ? Math.max(this.from[p], cursor) : this.starts[p];
        this.owned[p] = 1;
        this.from[p] = from;
        this.until[p] = Infinity;
        rewind = Math.min(rewind, from);
        this.waits.push({ p, version: this.versions[p], start: this.starts[p] });
        continue;
      }
      if (!mine && this.owned[p] === 1) {
        this.owned[p] = 0;
        this.until[p] = this.starts[p];
      }
      // what lies below the cursor was delivered (or was not ours): not again after a rewind
      if (this.from[p] < cursor) this.from[p] = cursor;
    }
    // The floor holds every start not adopted yet, so the records from `rewind` on are intact.
    if (rewind < cursor) ring.core.setCursorLocked(this.slot, rewind);
    store(ring, memberEntry(ring, block, this.slot) + L.KM_ADOPTED, version);
    this.version = version;
    return rewind < cursor;
  }

  private othersPassed(version: number, start: number): boolean {
    const { ring, block } = this;
    for (let e = 0; e < L.MAX_KEYED_MEMBERS; e++) {
      const at = memberAt(block, e);
      const slot = load(ring, at + L.KM_SLOT) - 1;
      if (slot < 0 || slot === this.slot) continue;
      const adopted = load(ring, at + L.KM_ADOPTED);
      // One that never adopted a table owns nothing by an old one: it cannot deliver below the start.
      if (adopted === -1) continue;
      if (adopted < version || ring.core.cursor(slot) < start) return false;
    }
    return true;
  }

  /** The floor goes once every member has adopted the current table (and moved its cursor where that needs). */
  private releaseFloor(): void {
    const { ring, block } = this;
    if (!this.allAdopted()) return;
    withRegistryLock(ring, () => {
      if (load(ring, block + L.K_GROUP) === this.group + 1 && this.allAdopted()) ring.core.setCursorLocked(this.group, Infinity);
    });
  }

  private allAdopted(): boolean {
    const { ring, block } = this;
    const version = load(ring, block + L.K_VERSION);
    if ((version & 1) !== 0) return false;
    for (let e = 0; e < L.MAX_KEYED_MEMBERS; e++) {
      const at = memberAt(block, e);
      if (load(ring, at + L.KM_SLOT) !== 0 && load(ring, at + L.KM_ADOPTED) !== version) return false;
    }
    return true;
  }
}
