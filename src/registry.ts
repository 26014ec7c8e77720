import { InvalidOptionError, ReaderBusyError, RingbusError, TooManyReadersError } from './errors.js';
import * as L from './layout.js';
import type { Ring } from './ring.js';
import { slotName as checkedName } from './validate.js';

const decoder = new TextDecoder();
const LOCK_STEAL_MS = 2000;

/** Name of a slot, or '' when it is free. */
export function slotName(ring: Ring, slot: number): string {
  if (Atomics.load(ring.i32, ring.slotWord(slot, L.S_KIND)) === L.KIND_FREE) return '';
  const at = ring.core.slotOffset(slot);
  // Plain reads: a name is written under the registry lock before registerReader() publishes
  // the slot (atomic stores under the claim lock), and stays until the slot is freed.
  const length = ring.i32[(at + L.S_NAME_LENGTH) >> 2];
  return decoder.decode(ring.u8.slice(at + L.S_NAME, at + L.S_NAME + length));
}

export function slotKind(ring: Ring, slot: number): number {
  return Atomics.load(ring.i32, ring.slotWord(slot, L.S_KIND));
}

/** The group slot a member belongs to, or NO_SLOT. */
export function slotGroup(ring: Ring, slot: number): number {
  return Atomics.load(ring.i32, ring.slotWord(slot, L.S_GROUP));
}

/** The slot named `name`, or -1. */
export function findSlot(ring: Ring, name: string): number {
  for (let i = 0; i < ring.maxReaders; i++) if (slotName(ring, i) === name) return i;
  return -1;
}

export interface SlotRequest {
  kind: number;
  group: number;
  start: number;
  /** Take the slot even if a live Reader holds it (replacing a reader whose thread died). */
  takeover: boolean;
  /** Token of the Reader object that will hold the slot; 0 for group cursors, which nobody owns. */
  owner: number;
}

/**
 * Opens the slot named `name`: an existing one keeps its position (a restarted worker
 * resumes where its predecessor committed); a new one starts where `start` says.
 */
export function openSlot(ring: Ring, name: string, request: SlotRequest): number {
  const nameBytes = nameToBytes(name);
  return withRegistryLock(ring, () => openLocked(ring, name, nameBytes, request));
}

/**
 * Opens member `name` of group `group`, creating the group if needed, under one hold of the
 * registry lock: nobody can forget the group (its last member leaving) between the two.
 * Returns [group slot, member slot].
 */
export function openMember(
  ring: Ring,
  group: string,
  name: string,
  request: Omit<SlotRequest, 'kind' | 'group'> & { /** topicsPrint() of the member's topics */ topics: number },
): [number, number] {
  const groupBytes = nameToBytes(group);
  const nameBytes = nameToBytes(name);
  return withRegistryLock(ring, () => {
    const groupSlot = openLocked(ring, group, groupBytes, { kind: L.KIND_GROUP, group: L.NO_SLOT, start: request.start, takeover: false, owner: 0 });
    try {
      agreeOnTopics(ring, groupSlot, findSlot(ring, name), group, name, request.topics);
      const { topics: _, ...slotRequest } = request;
      return [groupSlot, openLocked(ring, name, nameBytes, { ...slotRequest, kind: L.KIND_MEMBER, group: groupSlot })];
    } catch (error) {
      forgetGroupIfEmpty(ring, groupSlot); // one this call created would hold producers back for ever
      throw error;
    }
  });
}

/**
 * A member takes batches off the group whatever their topics, and skips the events outside
 * its own: with different topics, events only another member takes would be skipped for
 * good. So every member takes the same topics; the first (or only) member sets them.
 */
function agreeOnTopics(ring: Ring, groupSlot: number, self: number, group: string, name: string, topics: number): void {
  const word = ring.slotWord(groupSlot, L.S_MEMBER_TOPICS);
  if (!hasMember(ring, groupSlot, self)) {
    Atomics.store(ring.i32, word, topics);
    return;
  }
  if (Atomics.load(ring.i32, word) === topics) return;
  throw new InvalidOptionError(
    `member "${name}" takes other topics than the members of group "${group}": members take batches off the group whatever their topics, so events that only another member takes would be skipped for good; open every member with the same topics option, or a group per set of topics`,
  );
}

export function nameToBytes(name: string): Uint8Array {
  return checkedName('a reader name', name);
}

export function openLocked(ring: Ring, name: string, nameBytes: Uint8Array, request: SlotRequest): number {
  let slot = findSlot(ring, name);
  // A thread that died while registering left its slot reserved: set it up afresh.
  if (slot >= 0 && slotKind(ring, slot) === L.KIND_RESERVED) return setUp(ring, slot, nameBytes, request);
  if (slot >= 0) {
    const kind = slotKind(ring, slot);
    if (kind !== request.kind) {
      throw new InvalidOptionError(
        `"${name}" already exists as a ${kindName(kind)}, and these options open a ${kindName(request.kind)}; open it with the options it was created with (lossy, group), or pick another name`,
      );
    }
    if (request.kind === L.KIND_MEMBER && slotGroup(ring, slot) !== request.group) {
      throw new InvalidOptionError(`member "${name}" belongs to another group; pick another member name`);
    }
    if (request.owner !== 0) {
      const word = ring.slotWord(slot, L.S_OWNER);
      const current = Atomics.compareExchange(ring.i32, word, 0, request.owner);
      if (current !== 0) {
        if (!request.takeover) throw new ReaderBusyError(name);
        Atomics.store(ring.i32, word, request.owner);
        takenOverHere(current);
      }
    }
    ring.core.registerReader(slot, request.kind, request.group, L.START_KEEP);
    return slot;
  }
  slot = -1;
  for (let i = 0; i < ring.maxReaders && slot < 0; i++) {
    if (Atomics.compareExchange(ring.i32, ring.slotWord(i, L.S_KIND), L.KIND_FREE, L.KIND_RESERVED) === L.KIND_FREE) slot = i;
  }
  if (slot < 0) throw new TooManyReadersError(ring.maxReaders);
  return setUp(ring, slot, nameBytes, request);
}

/**
 * Frees a group's cursor once no member belongs to it: the group is forgotten and stops
 * gating, like an unsubscribed reader. A member that only closed still belongs to it.
 */
function forgetGroupIfEmpty(ring: Ring, group: number): void {
  if (slotKind(ring, group) === L.KIND_GROUP && !hasMember(ring, group)) ring.core.releaseReader(group);
}

/** Whether a member slot other than `except` belongs to group slot `group` (closed members included). */
function hasMember(ring: Ring, group: number, except = -1): boolean {
  for (let i = 0; i < ring.maxReaders; i++) {
    if (i !== except && slotKind(ring, i) === L.KIND_MEMBER && slotGroup(ring, i) === group) return true;
  }
  return false;
}

/** Names a reserved slot and registers it (under the registry lock). */
function setUp(ring: Ring, slot: number, nameBytes: Uint8Array, request: SlotRequest): number {
  const at = ring.core.slotOffset(slot);
  // Plain stores: the slot is RESERVED (nobody else sets it up) and registerReader() publishes them.
  ring.u8.set(nameBytes, at + L.S_NAME);
  ring.i32[(at + L.S_NAME_LENGTH) >> 2] = nameBytes.length;
  for (const offset of [L.S_CONSUMED, L.S_MISSED, L.S_WAIT_NS, L.S_NEXT_SEQ]) {
    ring.i32[(at + offset) >> 2] = 0;
    ring.i32[(at + offset + 4) >> 2] = 0;
  }
  Atomics.store(ring.i32, (at + L.S_OWNER) >> 2, request.owner);
  ring.core.registerReader(slot, request.kind, request.group, request.start);
  return slot;
}

/**
 * The readers open in this thread, by owner word, each with what closes its object. A
 * takeover replaces a reader whose thread died; one still open in this very thread (an
 * object left behind, say by a loop that threw) is closed by it, so that only one live
 * object delivers the slot's events.
 */
const openHere = new Map<number, () => void>();

/** A reader of this thread now holds its slot under owner word `owner`; `close` marks its object closed. */
export function openedHere(owner: number, close: () => void): void {
  openHere.set(owner, close);
}

/** The slot held under `owner` was taken over: if its object is in this thread, it is closed now. */
export function takenOverHere(owner: number): void {
  const close = openHere.get(owner);
  openHere.delete(owner);
  close?.();
}

/** A reader of this thread with owner word `owner` closed (or left its group). */
export function closedHere(owner: number): void {
  openHere.delete(owner);
}

/**
 * Frees a slot if `owner` still holds it (a Reader taken over by a successor must not free
 * the successor's slot), under the registry lock so that nobody is setting it up meanwhile.
 */
export function releaseSlot(ring: Ring, slot: number, owner: number): void {
  withRegistryLock(ring, () => {
    if (Atomics.load(ring.i32, ring.slotWord(slot, L.S_OWNER)) !== owner) return;
    const group = slotKind(ring, slot) === L.KIND_MEMBER ? slotGroup(ring, slot) : L.NO_SLOT;
    ring.core.releaseReader(slot);
    if (group !== L.NO_SLOT) forgetGroupIfEmpty(ring, group);
  });
}

/** Gives the slot up for a successor, if `owner` still holds it: its position stays and keeps gating producers. */
export function disownSlot(ring: Ring, slot: number, owner: number): void {
  Atomics.compareExchange(ring.i32, ring.slotWord(slot, L.S_OWNER), owner, 0);
}

export function withRegistryLock<T>(ring: Ring, body: () => T): T {
  const word = ring.word(L.H_REGISTRY_LOCK);
  const token = ((Math.random() * 0x7fffffff) | 1) >>> 0;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  let holder = 0;
  let since = performance.now();
  for (;;) {
    const seen = Atomics.compareExchange(ring.i32, word, 0, token);
    if (seen === 0) break;
    if (seen !== holder) {
      holder = seen;
      since = performance.now();
    } else if (performance.now() - since > LOCK_STEAL_MS && Atomics.compareExchange(ring.i32, word, holder, token) === holder) {
      // Registration takes microseconds: a holder that kept the lock this long was
      // terminated inside it. Exactly one waiter replaces its token with its own.
      break;
    }
    Atomics.wait(pause, 0, 0, 0.1);
  }
  try {
    return body();
  } finally {
    Atomics.compareExchange(ring.i32, word, token, 0);
  }
}

export function kindName(kind: number): string {
  switch (kind) {
    case L.KIND_GATING:
      return 'reader';
    case L.KIND_LOSSY:
      return 'lossy reader';
    case L.KIND_GROUP:
      return 'consumer group';
    case L.KIND_MEMBER:
      return 'group member';
    case L.KIND_RESERVED:
      return 'reader being set up';
    case L.KIND_KEYED_GROUP:
      return 'keyed consumer group';
    case L.KIND_KEYED_MEMBER:
      return 'keyed group member';
    default:
      throw new RingbusError('ERR_RINGBUS_INTERNAL', `unknown slot kind ${kind}`);
  }
}
