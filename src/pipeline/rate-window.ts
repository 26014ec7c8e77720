interface Sample {
  at: number;
  counts: readonly number[];
}

/**
 * Rates over about the last second, whatever the pace of the calls that ask for them:
 * counters are sampled every `everyMs` on this thread's event loop, and a rate runs from
 * the newest sample at least `windowMs` old (from start() until there is one). Counting
 * from the previous caller instead would stretch the window over any idle stretch between
 * calls, and shrink it to nothing for callers polling often.
 */
export class RateWindow {
  private samples: Sample[] = [];
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly read: () => readonly number[],
    private readonly windowMs = 1000,
    private readonly everyMs = 250,
  ) {}

  /** Starts (or restarts) the window at the counters' values now. */
  start(): void {
    this.stop();
    this.samples = [{ at: performance.now(), counts: this.read() }];
    this.timer = setInterval(() => this.sample(), this.everyMs);
    this.timer.unref(); // a statistic keeps no process alive
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Per second, for each of `counts` (the counters read now): 0 for all before start(). */
  rates(counts: readonly number[]): number[] {
    const now = performance.now();
    const base = this.base(now);
    if (base === undefined) return counts.map(() => 0);
    const seconds = Math.max(1e-3, (now - base.at) / 1000);
    return counts.map((count, i) => (count - (base.counts[i] ?? 0)) / seconds);
  }

  private base(now: number): Sample | undefined {
    let base = this.samples[0];
    for (const sample of this.samples) if (now - sample.at >= this.windowMs) base = sample;
    return base;
  }

  private sample(): void {
    const now = performance.now();
    this.samples.push({ at: now, counts: this.read() });
    // keep the newest sample at least windowMs old, and the ones after it
    while (this.samples.length > 1 && now - this.samples[1].at >= this.windowMs) this.samples.shift();
  }
}
