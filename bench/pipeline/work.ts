// A calibrated amount of real, pure-JS work: integer hashing over a small buffer. The
// same function runs in the single-thread baseline and in the pipeline's stages, with the
// same iteration count, so the overhead does not depend on how exactly W µs was hit.

const BUFFER = new Uint32Array(64);
for (let i = 0; i < BUFFER.length; i++) BUFFER[i] = Math.imul(i + 1, 0x9e3779b1) >>> 0;

/** Folded into by every call, so the JIT cannot drop the work. */
export let sink = 0;

/** Hashes `iterations` words of the buffer, seeded with `seed`; returns the hash. */
export function work(seed: number, iterations: number): number {
  let h = seed | 0;
  for (let i = 0; i < iterations; i++) {
    h = Math.imul(h ^ BUFFER[i & 63], 0x85ebca6b);
    h ^= h >>> 13;
  }
  sink ^= h;
  return h;
}

/** Measured µs per call of work(·, iterations) in this thread (median of 5 batches of calls). */
export function microsPerCall(iterations: number, calls: number): number {
  const samples: number[] = [];
  for (let s = 0; s < 5; s++) {
    const t0 = performance.now();
    for (let i = 0; i < calls; i++) work(i, iterations);
    samples.push(((performance.now() - t0) * 1000) / calls);
  }
  samples.sort((a, b) => a - b);
  return samples[2];
}

/** The iteration count for which work() takes about `targetUs` µs per call in this thread. */
export function calibrate(targetUs: number): { iterations: number; usPerCall: number } {
  let iterations = 1000;
  microsPerCall(iterations, 2000); // warm the JIT
  for (let round = 0; round < 4; round++) {
    const calls = Math.max(200, Math.round(20_000 / targetUs)); // about 20 ms per batch
    const us = microsPerCall(iterations, calls);
    iterations = Math.max(1, Math.round((iterations * targetUs) / us));
  }
  return { iterations, usPerCall: microsPerCall(iterations, Math.max(200, Math.round(20_000 / targetUs))) };
}
