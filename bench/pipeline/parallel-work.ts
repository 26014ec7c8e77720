// One thread of the overhead scenarios' parallel baseline: on each message { iterations,
// n }, calls work(id, iterations) for n ids, as a stage would with no bus, and replies with
// the ms it took on its own clock.
import { parentPort } from 'node:worker_threads';
import { work } from './work.js';

parentPort!.on('message', ({ iterations, n }: { iterations: number; n: number }) => {
  const started = performance.now();
  for (let id = 0; id < n; id++) work(id, iterations);
  parentPort!.postMessage(performance.now() - started);
});
