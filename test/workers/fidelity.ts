// Reads the values the main thread published with the default codec and compares each with
// the copy postMessage gave this worker (workerData); then publishes those copies back.
import { workerData, parentPort } from 'node:worker_threads';
import { attach, type BusHandle } from 'ringbus';
import { difference } from './same-value.js';

const { handle, values } = workerData as { handle: BusHandle; values: unknown[] };
const bus = attach(handle);
const reader = bus.reader('worker', { topics: ['out'] });
parentPort!.postMessage({ type: 'attached' });
const mismatches: string[] = [];
let i = 0;
reader.take(
  values.length,
  (value) => {
    const d = difference(value, values[i]);
    if (d) mismatches.push(`value ${i}: ${d}`);
    i++;
  },
  30_000,
);
reader.close();
for (const value of values) bus.publish('back', value);
parentPort!.postMessage({ type: 'done', read: i, mismatches });
