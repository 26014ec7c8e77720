import { existsSync, readlinkSync } from 'node:fs';
import * as L from './layout.js';
import type { Ring } from './ring.js';

/**
 * The second way a dead thread's claim is found, for a thread stuck behind it: a reader at
 * its cursor, a producer at a full ring. Death events (src/thread-deaths.ts) need the event
 * loop of a thread that saw the death; this needs nothing. Every producer slot records its
 * owner's operating-system thread id; on Linux a thread of this process exists exactly while
 * /proc/self/task/<id> does. When the thread that owns the claim a waiter is stuck at is
 * gone, the waiter buries it (revokes its claims, frees its slot) itself. A reused id can
 * only make a dead thread look alive, which delays, never wrongly revokes. Elsewhere the
 * id is 0 and death events alone apply.
 */
export class ClaimWatch {
  private stuckAt = -1;
  private checks = 0;
  private nextLook = 0;

  constructor(private readonly ring: Ring) {}

  /**
   * Call while stuck at `position`; true when a dead owner's claims were revoked (look
   * again). `slot`: the producer slot listing a claim there, when the caller already knows it.
   */
  check(position: number, slot?: number): boolean {
    if (position !== this.stuckAt) {
      this.stuckAt = position;
      this.checks = 0;
      this.nextLook = 0;
    }
    // Cheap until the same position has held a waiter for a while: a live claim is committed in µs.
    if ((++this.checks & (CHECK_EVERY - 1)) !== 0) return false;
    const now = performance.now();
    if (now < this.nextLook) return false;
    this.nextLook = now + LOOK_MS;
    const { core } = this.ring;
    if (slot === undefined) {
      if (core.openClaimAt(position) === 0) return false;
      slot = core.claimOwner(position);
    }
    if (slot === L.NO_SLOT) return false;
    const owner = Atomics.load(this.ring.i32, this.ring.producerWord(slot, L.P_OWNER));
    const thread = Atomics.load(this.ring.i32, this.ring.producerWord(slot, L.P_OS_THREAD));
    if (thread <= 0 || owner <= 0 || threadAlive(thread)) return false;
    return core.deadSlot(slot, owner) > 0;
  }
}

/** Stuck checks between looks at the clock, and the least time between two looks at the owner. */
const CHECK_EVERY = 16;
const LOOK_MS = 5;

let osThread: number | undefined;

/** This thread's operating-system thread id, or 0 where it cannot be known. */
export function osThreadId(): number {
  if (osThread === undefined) {
    try {
      osThread = Number(readlinkSync('/proc/thread-self').split('/').pop()) | 0;
    } catch {
      osThread = 0;
    }
  }
  return osThread;
}

export function threadAlive(thread: number): boolean {
  return existsSync(`/proc/self/task/${thread}`);
}
