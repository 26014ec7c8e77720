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
  private nextLook = 0;

  /**
   * `site`: the waiter's; while it is stuck behind an open claim its sleeps are cut to
   * LOOK_MS, so that a blocked wait looks as often as a spinning one (it slept its whole
   * `idleSliceMs` otherwise, and saw a death 0.3 to 0.8 s late).
   */
  constructor(
    private readonly ring: Ring,
    private readonly site: { sliceMs: number },
    private readonly idleSliceMs: number,
  ) {}

  /**
   * Call while stuck at `position`; true when a dead owner's claims were revoked (look
   * again). `slot`: the producer slot listing a claim there, when the caller already knows it.
   */
  check(position: number, slot?: number): boolean {
    const now = performance.now();
    const { core } = this.ring;
    if (position !== this.stuckAt) {
      this.stuckAt = position;
      // No look until the position has held a waiter for a while: a live claim is committed in µs.
      this.nextLook = now + HELD_MS;
      this.site.sliceMs = slot !== undefined || core.openClaimAt(position) !== 0 ? LOOK_MS : this.idleSliceMs;
      return false;
    }
    if (now < this.nextLook) return false;
    this.nextLook = now + LOOK_MS;
    if (slot === undefined) {
      if (core.openClaimAt(position) === 0) {
        this.site.sliceMs = this.idleSliceMs;
        return false;
      }
      slot = core.claimOwner(position);
    }
    this.site.sliceMs = LOOK_MS;
    if (slot === L.NO_SLOT) return false;
    const owner = Atomics.load(this.ring.i32, this.ring.producerWord(slot, L.P_OWNER));
    const thread = Atomics.load(this.ring.i32, this.ring.producerWord(slot, L.P_OS_THREAD));
    if (thread <= 0 || owner <= 0 || threadAlive(thread)) return false;
    return core.deadSlot(slot, owner) > 0;
  }
}

/** How long a waiter stays at one position before its first look at the owner, and the least time between two looks. */
const HELD_MS = 1;
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
