import { BroadcastChannel, threadId, type Worker } from 'node:worker_threads';
import type { RingCore } from './core.js';
import { MAX_PRODUCERS } from './layout.js';

/**
 * Learns which threads of this process have died, so that their open claims can be
 * revoked: a claim is never revoked while its thread lives (its bytes may still be being
 * written), and always once its death is known.
 *
 * A thread sees the deaths of the workers it created (their `'exit'` event), so every
 * thread that loads ringbus watches the workers it creates, and tells every other thread
 * that loaded ringbus, through one BroadcastChannel: then whichever threads have a ring
 * open revoke the dead thread's claims in it. A worker's own workers end with it; their
 * births are told too, so that a death takes its descendants along.
 */

/** What a thread tells the others: a worker it created, or deaths it saw. */
type Notice = { born: number; parent: number } | { died: number[] };

const CHANNEL = 'ringbus:threads';

/** The owner word of a thread's producer slots (0 means free, so threadId + 1). */
export const ownerOf = (thread: number): number => thread + 1;

const rings = new Set<WeakRef<RingCore>>();
// A thread that attaches per task would otherwise keep one dead reference per attach.
const forget = new FinalizationRegistry<WeakRef<RingCore>>((ref) => rings.delete(ref));
const parents = new Map<number, number>();
const dead = new Set<number>();
let channel: BroadcastChannel | undefined;

/** Revokes the claims that `threads` left in one ring, and frees their producer slots. */
function buryIn(core: RingCore, threads: Iterable<number>): void {
  for (const thread of threads) {
    const owner = ownerOf(thread);
    for (let slot = core.producerOf(owner, 0); slot >= 0; slot = core.producerOf(owner, slot + 1)) core.deadSlot(slot, owner);
  }
}

/** The same in every ring this thread has open. */
function bury(threads: readonly number[]): void {
  for (const ref of rings) {
    const core = ref.deref();
    if (core === undefined) rings.delete(ref);
    else buryIn(core, threads);
  }
}

/** `thread` and every descendant of it this thread heard of. */
function withDescendants(thread: number): number[] {
  const found = [thread];
  for (let i = 0; i < found.length; i++) {
    for (const [child, parent] of parents) if (parent === found[i] && !found.includes(child)) found.push(child);
  }
  return found;
}

function died(threads: readonly number[]): void {
  for (const t of threads) {
    dead.add(t);
    parents.delete(t);
  }
  bury(threads);
}

function open(): BroadcastChannel {
  if (channel !== undefined) return channel;
  channel = new BroadcastChannel(CHANNEL);
  channel.unref(); // it must never keep a thread alive
  channel.onmessage = (event) => {
    const notice = (event as { data: Notice }).data;
    if ('born' in notice) parents.set(notice.born, notice.parent);
    else died(notice.died);
  };
  process.on('worker', (worker: Worker) => {
    const child = worker.threadId;
    parents.set(child, threadId);
    channel!.postMessage({ born: child, parent: threadId } satisfies Notice);
    worker.once('exit', () => {
      const threads = withDescendants(child);
      died(threads);
      channel!.postMessage({ died: threads } satisfies Notice);
    });
  });
  return channel;
}

// Watching starts when ringbus is loaded, so that the workers this thread creates later
// are watched even before it opens a ring.
open();

/** Watches deaths for a ring opened in this thread; claims of threads already dead are revoked now. */
export function watchRing(core: RingCore): void {
  const ref = new WeakRef(core);
  rings.add(ref);
  forget.register(core, ref);
  if (dead.size === 0) return;
  for (let slot = 0; slot < MAX_PRODUCERS; slot++) {
    const owner = core.producerOwner(slot);
    if (dead.has(owner - 1)) core.deadSlot(slot, owner);
  }
}
