// The other side of the abort tests: reads every value of a reader until the bus is closed
// and read to the end, or publishes `count` numbers.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type BusHandle } from 'ringbus';

interface Job {
  handle: BusHandle;
  mode: 'read' | 'publish';
  name?: string;
  count?: number;
}

const job = workerData as Job;
const bus = attach(job.handle);
if (job.mode === 'read') {
  const reader = bus.reader(job.name!, { wait: 'block' });
  const values: unknown[] = [];
  const deadline = performance.now() + 30_000;
  while (!reader.ended && performance.now() < deadline) {
    reader.wait(1_000);
    reader.poll((value) => values.push(value), 256);
  }
  reader.close();
  parentPort!.postMessage({ type: 'done', values, ended: reader.ended });
} else {
  for (let i = 0; i < job.count!; i++) bus.publish('t', i, { timeoutMs: 30_000 });
  parentPort!.postMessage({ type: 'done' });
}
