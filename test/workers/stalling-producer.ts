// Publishes self-checking raw payloads while stalling inside its claims, then ends as the
// test asks: done, hanging inside a claim, exiting or throwing inside one, or through a
// worker of its own that hangs inside a claim.
import { parentPort, Worker, workerData } from 'node:worker_threads';
import { attach, type BusHandle } from 'ringbus';
import { fill, payloadSize } from './payload.js';

export interface StallingJob {
  handle: BusHandle;
  topic: string;
  producer: number;
  count: number;
  maxExtra: number;
  /** 'claim': zero-copy claims, pausing between the two halves of a payload; 'publish' and 'batch' pause between calls. */
  mode: 'claim' | 'publish' | 'batch';
  /** One event in `pauseEvery` pauses, for up to pauseMaxMs. */
  pauseEvery: number;
  pauseMaxMs: number;
  /** What it does after publishing `count`. */
  then: 'done' | 'hang' | 'exit' | 'throw' | 'spawn';
  timeoutMs: number;
}

const job = workerData as StallingJob;
const bus = attach(job.handle, { codec: 'raw', timeoutMs: job.timeoutMs });
const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms: number) => Atomics.wait(sleeper, 0, 0, ms);
let rng = job.producer * 2654435761 + 7;
const random = (n: number) => {
  rng = (Math.imul(rng, 1103515245) + 12345) >>> 0;
  return rng % n;
};
const pause = () => {
  if (job.pauseMaxMs > 0 && random(job.pauseEvery) === 0) sleep(random(job.pauseMaxMs * 10) / 10);
};

let seq = 0;
while (seq < job.count) {
  if (job.mode === 'claim') {
    const size = payloadSize(job.producer, seq, job.maxExtra);
    const claim = bus.claim(job.topic, size);
    const payload = fill(new Uint8Array(size), job.producer, seq++);
    const half = size >> 1;
    claim.bytes.set(payload.subarray(0, half));
    pause(); // a live producer, descheduled or slow inside its claim
    claim.bytes.set(payload.subarray(half), half);
    claim.commit();
  } else if (job.mode === 'publish') {
    bus.publish(job.topic, fill(new Uint8Array(payloadSize(job.producer, seq, job.maxExtra)), job.producer, seq++));
    pause();
  } else {
    const batch: Uint8Array[] = [];
    for (let n = Math.min(job.count - seq, 1 + random(16)); n > 0; n--)
      batch.push(fill(new Uint8Array(payloadSize(job.producer, seq, job.maxExtra)), job.producer, seq++));
    bus.publishBatch(job.topic, batch);
    pause();
  }
}

const hangInClaim = () => {
  const claim = bus.claim(job.topic, 64);
  claim.bytes.fill(0xee, 0, 32);
  return claim;
};

if (job.then === 'done') {
  parentPort!.postMessage({ type: 'done', published: seq });
} else if (job.then === 'spawn') {
  const child = new Worker(new URL(import.meta.url), { workerData: { ...job, producer: job.producer + 1, count: 0, then: 'hang' } satisfies StallingJob });
  child.on('message', (m) => {
    if (m?.type === 'claimed') parentPort!.postMessage({ type: 'claimed', child: child.threadId });
  });
} else {
  hangInClaim();
  parentPort!.postMessage({ type: 'claimed' });
  if (job.then === 'exit') process.exit(3);
  if (job.then === 'throw') throw new Error('died inside a claim');
  for (;;) sleep(10);
}
