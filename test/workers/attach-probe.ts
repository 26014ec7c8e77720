// Attaches to each handle it is given and publishes one event, reporting what each threw.
// A worker, so that a handle that makes attach() or the first publish loop for ever fails
// the test by its timeout instead of hanging it.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type BusHandle } from 'ringbus';

const outcomes = (workerData as { handles: BusHandle[] }).handles.map((handle) => {
  try {
    attach(handle, { timeoutMs: 1000 }).publish('default', 1);
    return { error: null, message: '' };
  } catch (error) {
    return { error: (error as Error)?.name ?? String(error), message: String((error as Error)?.message) };
  }
});
parentPort!.postMessage({ type: 'done', outcomes });
