import { Worker } from 'node:worker_threads';

/** A test worker from test/workers, compiled to dist-dev (workers cannot load .ts on Node 20). */
export function workerUrl(name: string): URL {
  return new URL(`../dist-dev/test/workers/${name}.js`, import.meta.url);
}

export interface Running<T> {
  worker: Worker;
  /** The worker's first message of type 'done', or a rejection on error, exit or timeout. */
  result: Promise<T>;
  /** Resolves on the first message of this type. */
  message(type: string, timeoutMs?: number): Promise<any>;
}

export function start<T = any>(name: string, workerData: unknown, timeoutMs = 60_000): Running<T> {
  const worker = new Worker(workerUrl(name), { workerData });
  const result = new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`worker ${name} gave no result within ${timeoutMs} ms`));
      void worker.terminate();
    }, timeoutMs);
    worker.on('message', (m) => {
      if (m?.type === 'done') {
        clearTimeout(timer);
        resolve(m as T);
      }
    });
    worker.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    worker.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker ${name} exited (${code}) before its result`));
    });
  });
  result.catch(() => undefined);
  const message = (type: string, ms = timeoutMs) =>
    new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${name} sent no '${type}' within ${ms} ms`)), ms);
      worker.on('message', (m) => {
        if (m?.type === type) {
          clearTimeout(timer);
          resolve(m);
        }
      });
    });
  return { worker, result, message };
}
