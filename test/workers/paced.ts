// Publishes `count` small raw events in batches of `batch`, one batch every `everyMs`: a steady, healthy load.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type BusHandle } from 'ringbus';
import { make } from './payload.js';

const job = workerData as { handle: BusHandle; topic: string; count: number; batch: number; everyMs: number };
const bus = attach(job.handle, { codec: 'raw', timeoutMs: 30_000 });
const pause = new Int32Array(new SharedArrayBuffer(4));
let seq = 0;
while (seq < job.count) {
  const values: Uint8Array[] = [];
  for (let i = 0; i < job.batch && seq < job.count; i++) values.push(make(0, seq++, 0));
  bus.publishBatch(job.topic, values);
  Atomics.wait(pause, 0, 0, job.everyMs);
}
parentPort!.postMessage({ type: 'done', published: seq });
