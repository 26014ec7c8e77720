import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// A short version of the memory soak (scripts/soak.mjs, docs/MEMORY.md): 2 producers,
// 2 gating readers, a consumer group of 2 and a lossy tap, on real workers, in a child
// process run with --expose-gc so that every sample is taken after a full GC in every
// thread. After a warm-up, a late window is compared with an early one (medians, so that
// one sample taken while the machine was busy does not decide). What may grow: the young
// generations (V8 sizes them to the allocation rate; bounded, see docs/MEMORY.md). What
// must not: the live heap after GC, and what the process holds outside the V8 heaps
// (RSS minus every thread's committed heap: malloc, buffers, the shared memory).
//
// The thresholds catch small leaks (checked by injecting them into Reader.poll): one
// 4-element array kept per poll grew the live heap by 1.7 MB between the windows; one
// 64 KiB Buffer kept every 64 polls left the live heap flat (+0.2 MB) and grew `outside`
// by 9 to 11.6 MB. Without a leak, on the 2-core machine: live +0.1 MB, outside +0.7 to 1.6 MB.

const SECONDS = 18;
const WARM_UP = 6; // JIT, heap and arena sizing settle in the first seconds
const WINDOW = 4;
const MB = 2 ** 20;
/** Growth of the summed live heaps between the windows (JIT code is most of it). */
const MAX_LIVE_GROWTH = 1 * MB;
/** Growth of RSS outside the V8 heaps between the windows. */
const MAX_OUTSIDE_GROWTH = 6 * MB;

interface Sample {
  t: number;
  rss: number;
  used: number;
  young: number;
  outside: number;
  published: number;
}

interface SoakResult {
  summary: { published: number; failures: string[]; gc: boolean; tapped: number };
  samples: Sample[];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

function runSoak(dir: string): Promise<SoakResult> {
  const script = fileURLToPath(new URL('../scripts/soak.mjs', import.meta.url));
  const out = join(dir, 'soak.json');
  const args = ['--expose-gc', script, '--seconds', String(SECONDS), '--interval', '1', '--json', out, '--quiet'];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { timeout: (SECONDS + 30) * 1000 }, (error, _stdout, stderr) => {
      if (error) return reject(new Error(`the soak failed (${error.message}): ${stderr}`));
      resolve(JSON.parse(readFileSync(out, 'utf8')) as SoakResult);
    });
  });
}

describe('memory soak (short)', () => {
  it('under a mixed load, neither the live heap nor the memory outside the V8 heaps grows after warm-up', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ringbus-soak-'));
    let result: SoakResult;
    try {
      result = await runSoak(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const { summary, samples } = result;
    expect(summary.failures).toEqual([]); // every reader got every event, each producer's in order
    expect(summary.gc).toBe(true);
    expect(summary.published).toBeGreaterThan(200_000);
    expect(summary.tapped).toBeGreaterThan(0);

    const early = samples.filter((s) => s.t >= WARM_UP && s.t < WARM_UP + WINDOW);
    const late = samples.filter((s) => s.t >= SECONDS - WINDOW);
    expect(early.length).toBeGreaterThanOrEqual(2);
    expect(late.length).toBeGreaterThanOrEqual(2);
    // the load ran through both windows
    expect(late[late.length - 1].published).toBeGreaterThan(early[early.length - 1].published);
    const growth = (key: keyof Sample) => median(late.map((s) => s[key])) - median(early.map((s) => s[key]));
    const report = `live ${(growth('used') / MB).toFixed(2)} MB, outside ${(growth('outside') / MB).toFixed(2)} MB, young ${(growth('young') / MB).toFixed(2)} MB`;
    expect(growth('used'), `live heap grew between the windows (${report})`).toBeLessThan(MAX_LIVE_GROWTH);
    expect(growth('outside'), `memory outside the V8 heaps grew between the windows (${report})`).toBeLessThan(MAX_OUTSIDE_GROWTH);
  });
});
