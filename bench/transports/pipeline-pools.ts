// The worker pools of pipeline3-trivial: piscina and tinypool, each event (or array of
// events) through 3 pool.run() calls in sequence (bench/pipeline/pool-task.ts).
import { Piscina } from 'piscina';
import Tinypool from 'tinypool';
import { BenchFailure } from '../harness.js';
import { chunked, type RunSession, takeIds } from '../pipeline/runs.js';

interface Pool {
  run(value: number | number[]): Promise<number | number[]>;
  destroy(): Promise<void>;
}

const POOL = { filename: new URL('../pipeline/pool-task.js', import.meta.url).href, minThreads: 2, maxThreads: 2, idleTimeout: 60_000 };
const piscinaPool = (): Pool => new Piscina(POOL);
export const tinypoolPool = (): Pool => new Tinypool(POOL);

/**
 * A pool (piscina unless `makePool` says otherwise) of of 2 threads; each event (or batch) goes through 3 pool.run() calls in
 * sequence, `inFlight` chains at a time. Piscina completes tasks out of order, so the check
 * is each id exactly once with its value intact, not the order.
 */
export async function openPoolChain(batch: number | undefined, n: number, inFlight: number, makePool: () => Pool = piscinaPool): Promise<RunSession> {
  const pool = makePool();
  const once = async (): Promise<number> => {
    const base = takeIds(n);
    const items: (number | number[])[] = batch !== undefined ? chunked(base, n, batch) : Array.from({ length: n }, (_, k) => base + k);
    const seen = new Uint8Array(n);
    let next = 0;
    const started = performance.now();
    const lane = async () => {
      while (next < items.length) {
        let value = items[next++];
        for (let s = 0; s < 3; s++) value = (await pool.run(value)) as number | number[];
        for (const v of Array.isArray(value) ? value : [value]) {
          const k = v - base;
          if (!(k >= 0 && k < n) || seen[k] !== 0) throw new BenchFailure(`piscina: event ${v} unexpected or seen twice`);
          seen[k] = 1;
        }
      }
    };
    await Promise.all(Array.from({ length: inFlight }, lane));
    const seconds = (performance.now() - started) / 1000;
    if (!seen.every((s) => s === 1)) throw new BenchFailure('piscina: an event was lost');
    return n / seconds;
  };
  return { run: once, finish: async () => undefined, close: () => pool.destroy() };
}
