import type { RingCore } from './core.js';

/**
 * Decides when a claim is dead. Whoever waits behind an uncommitted claim (a reader at its
 * cursor, a producer at the gate) shows it the position it is stuck at; once the same
 * claim has stayed uncommitted for `timeoutMs`, it is revoked and everybody goes on.
 */
export class StallWatch {
  private seq = -1;
  private since = -1;

  constructor(
    private readonly core: RingCore,
    private readonly timeoutMs: number,
  ) {}

  /** Call while stuck at `position`; returns true when it revoked the claim there. */
  check(position: number): boolean {
    if (this.core.pendingState(position) === 0) {
      this.since = -1;
      return false;
    }
    const seq = this.core.pendingSeq(position);
    const now = performance.now();
    if (this.since < 0 || seq !== this.seq) {
      this.seq = seq;
      this.since = now;
      return false;
    }
    if (now - this.since < this.timeoutMs || this.core.revoke(position, seq) !== 1) return false;
    this.since = -1;
    return true;
  }
}
