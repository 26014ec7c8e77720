// Receives a bus handle over postMessage after it started, and publishes on request.
import { parentPort } from 'node:worker_threads';
import { attach, type BusHandle } from 'ringbus';

parentPort!.once('message', (handle: BusHandle) => {
  const bus = attach(handle);
  bus.publishBatch(
    'jobs',
    Array.from({ length: 100 }, (_, n) => ({ n, via: 'postMessage' })),
  );
  parentPort!.postMessage({ type: 'done' });
});
