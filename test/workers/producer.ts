// Publishes self-checking raw payloads: single publishes and batches of random sizes.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type BusHandle } from 'ringbus';
import { make } from './payload.js';

interface Job {
  handle: BusHandle;
  topic: string;
  producer: number;
  count: number;
  maxExtra: number;
  /** Largest batch; 1 publishes one event at a time. */
  batchMax: number;
  timeoutMs: number;
  /** After publishing `count`, claim space, write half of it and hang until terminated. */
  hangInClaim?: boolean;
  /** Wait this long before publishing. */
  delayMs?: number;
}

const job = workerData as Job;
const bus = attach(job.handle, { codec: 'raw', timeoutMs: job.timeoutMs });
let rng = job.producer * 2654435761 + 1;
const random = (n: number) => {
  rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
  return rng % n;
};

if (job.delayMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, job.delayMs);
let seq = 0;
while (seq < job.count) {
  const size = Math.min(job.count - seq, 1 + random(job.batchMax));
  if (size === 1) {
    bus.publish(job.topic, make(job.producer, seq++, job.maxExtra));
  } else {
    const batch: Uint8Array[] = [];
    for (let i = 0; i < size; i++) batch.push(make(job.producer, seq++, job.maxExtra));
    bus.publishBatch(job.topic, batch);
  }
}

if (job.hangInClaim) {
  const claim = bus.claim(job.topic, 64);
  claim.bytes.fill(0xee, 0, 32);
  parentPort!.postMessage({ type: 'claimed' });
  const idle = new Int32Array(new SharedArrayBuffer(4));
  for (;;) Atomics.wait(idle, 0, 0, 10);
}
parentPort!.postMessage({ type: 'done', published: seq });
