// The postMessage chain of pipeline3-trivial: main → w1 → w2 → w3 → main over
// MessageChannels, each worker (bench/pipeline/postmessage-stage.ts) passing every message on.
import { MessageChannel, Worker } from 'node:worker_threads';
import { BenchFailure } from '../harness.js';
import type { PostMessageStageData } from '../pipeline/postmessage-stage.js';
import { chunked, type RunSession, takeIds } from '../pipeline/runs.js';

/** postMessage: main → w1 → w2 → w3 → main over MessageChannels, at most `window` events in flight. */
export async function openPostMessageChain(batch: number | undefined, n: number, window: number): Promise<RunSession> {
  const channels = Array.from({ length: 4 }, () => new MessageChannel());
  const workers = [0, 1, 2].map((i) => {
    const data: PostMessageStageData = { input: channels[i].port2, output: channels[i + 1].port1, batch: batch !== undefined };
    return new Worker(new URL('../pipeline/postmessage-stage.js', import.meta.url), { workerData: data, transferList: [data.input, data.output] });
  });
  const head = channels[0].port1;
  const tail = channels[3].port2;
  let failure: Error | undefined;
  let onFailure: ((error: Error) => void) | undefined;
  for (const w of workers) {
    const fail = (error: Error) => {
      failure ??= error;
      onFailure?.(error);
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new BenchFailure(`postMessage: a stage worker exited (${code})`)));
  }
  const close = async () => {
    onFailure = undefined;
    for (const w of workers) w.removeAllListeners('exit');
    await Promise.all(workers.map((w) => w.terminate()));
    for (const c of channels) {
      c.port1.close();
      c.port2.close();
    }
  };
  try {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise((resolve, reject) => {
            w.once('online', resolve);
            w.once('error', reject);
          }),
      ),
    );
  } catch (error) {
    await close();
    throw error;
  }
  const once = (): Promise<number> => {
    const base = takeIds(n);
    const chunks = batch !== undefined ? chunked(base, n, batch) : undefined;
    return new Promise<number>((resolve, reject) => {
      if (failure) return reject(failure);
      onFailure = reject;
      let sent = 0; // events
      let next = 0; // chunks
      let expected = base;
      const pump = () => {
        while (sent < n && sent - (expected - base) < window) {
          if (chunks) {
            const values = chunks[next++];
            head.postMessage(values);
            sent += values.length;
          } else {
            head.postMessage(base + sent);
            sent++;
          }
        }
      };
      const check = (value: number) => {
        if (value !== expected) throw new BenchFailure(`postMessage: expected event ${expected}, got ${JSON.stringify(value)}`);
        expected++;
      };
      const timer = setTimeout(() => reject(new BenchFailure(`postMessage: ${expected - base} of ${n} events within 60 s`)), 60_000);
      tail.on('message', (data: number | number[]) => {
        try {
          if (Array.isArray(data)) for (const value of data) check(value);
          else check(data);
        } catch (error) {
          clearTimeout(timer);
          tail.removeAllListeners('message');
          return reject(error);
        }
        if (expected === base + n) {
          const seconds = (performance.now() - started) / 1000;
          clearTimeout(timer);
          tail.removeAllListeners('message');
          resolve(n / seconds);
        } else if (sent < n && sent - (expected - base) <= window / 2) {
          pump();
        }
      });
      const started = performance.now();
      pump();
    });
  };
  return {
    run: once,
    async finish() {
      if (failure) throw failure;
    },
    close,
  };
}
