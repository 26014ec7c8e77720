// Progress of a run on stderr: a bar on a terminal (cli-progress), a line per scenario
// otherwise (CI logs); every run's figure with --verbose.
import cliProgress from 'cli-progress';

export class Progress {
  private readonly bar: cliProgress.SingleBar | undefined;
  private done = 0;
  private readonly start = performance.now();

  constructor(
    private readonly total: number,
    private readonly verbose: boolean,
  ) {
    if (process.stderr.isTTY && !verbose) {
      this.bar = new cliProgress.SingleBar(
        { format: ' {bar} {value}/{total} runs | {elapsed}s | {what}', stream: process.stderr, hideCursor: true, clearOnComplete: true, barsize: 30 },
        cliProgress.Presets.shades_classic,
      );
      this.bar.start(total, 0, { what: 'starting', elapsed: 0 });
    }
  }

  private elapsed(): string {
    return ((performance.now() - this.start) / 1000).toFixed(0);
  }

  scenario(name: string): void {
    if (this.bar) this.bar.update(this.done, { what: `${name}: starting workers`, elapsed: this.elapsed() });
    else console.error(`[${this.elapsed()} s, ${this.done}/${this.total} runs] ${name}`);
  }

  tick(label: string, line: string): void {
    this.done++;
    if (this.bar) this.bar.update(this.done, { what: label, elapsed: this.elapsed() });
    else if (this.verbose) console.error(`  ${label}: ${line}`);
  }

  /** Prints above the bar (or just prints). */
  print(lines: () => void): void {
    if (!this.bar) return lines();
    this.bar.stop();
    lines();
    this.bar.start(this.total, this.done, { what: '', elapsed: this.elapsed() });
  }

  stop(): void {
    this.bar?.stop();
  }
}
