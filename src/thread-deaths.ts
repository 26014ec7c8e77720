import type { Worker } from 'node:worker_threads';
import type { RingCore } from './core.js';
import { MAX_PRODUCERS } from './layout.js';

/**
 * Learns which threads of this process have died, so that their open claims can be
 * revoked: a claim is never revoked while its thread lives (its bytes may still be being
 * written), and always once its death is known.
 *
 * The first way (this module): a thread sees the deaths of the workers it creates, by
 * their `'exit'` event, so every thread that loads ringbus watches the workers it creates
 * and revokes their claims in every ring it has open. The second way (src/claim-watch.ts)
 * needs no event at all: a thread stuck behind a claim checks whether its owner's
 * operating-system thread still exists. A broadcast of deaths to every thread was tried and
 * dropped: a BroadcastChannel in every worker made pipeline heals by warm standby rarer
 * (p50 5 ms became 164 ms), and the second way already covers the threads it reached.
 */

/** The owner word of a thread's producer slots (0 means free, so threadId + 1). */
export const ownerOf = (thread: number): number => thread + 1;

const rings = new Set<WeakRef<RingCore>>();
// A thread that attaches per task would otherwise keep one dead reference per attach.
const forget = new FinalizationRegistry<WeakRef<RingCore>>((ref) => rings.delete(ref));
/** Threads this thread saw die, for rings it opens later. */
const dead = new Set<number>();

/** Revokes the claims that `thread` left in one ring, and frees its producer slots. */
function buryIn(core: RingCore, thread: number): void {
  const owner = ownerOf(thread);
  for (let slot = core.producerOf(owner, 0); slot >= 0; slot = core.producerOf(owner, slot + 1)) core.deadSlot(slot, owner);
}

const listeners: ((thread: number) => void)[] = [];

/** Calls `listener` with the threadId of each worker this thread sees die. */
export function onThreadDeath(listener: (thread: number) => void): void {
  listeners.push(listener);
}

function died(thread: number): void {
  dead.add(thread);
  for (const listener of listeners) listener(thread);
  for (const ref of rings) {
    const core = ref.deref();
    if (core === undefined) rings.delete(ref);
    else buryIn(core, thread);
  }
}

// From when ringbus is loaded, so that the workers this thread creates later are watched
// even before it opens a ring.
process.on('worker', (worker: Worker) => {
  const thread = worker.threadId;
  worker.once('exit', () => died(thread));
});

/** Watches deaths for a ring opened in this thread; claims of threads already seen dead are revoked now. */
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
