// Runs one bridge (out of a bus or into it) in a worker, as a deployment would; the test
// terminates it mid-stream and starts another to check what survives.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type BusHandle, type PipelineInputHandle } from 'ringbus';
import { bridgeIn, bridgeOut, natsEngine, type Bridge, type Engine } from 'ringbus/nats';
import { redisEngine } from 'ringbus/redis';

interface Job {
  direction: 'out' | 'in';
  /** A bus's, or a pipeline's inputHandle (inbound only). */
  handle: BusHandle | PipelineInputHandle;
  engine: 'nats' | 'redis';
  engineOptions: any;
  bridgeOptions: any;
}

const job = workerData as Job;
const target = 'kind' in job.handle ? job.handle : attach(job.handle);
const engine: Engine = job.engine === 'nats' ? natsEngine(job.engineOptions) : redisEngine(job.engineOptions);
let bridge: Bridge | undefined;

parentPort!.on('message', async (m) => {
  if (m === 'stats') parentPort!.postMessage({ type: 'stats', stats: bridge?.stats() ?? null });
  if (m === 'close') {
    await bridge?.close();
    parentPort!.postMessage({ type: 'done', stats: bridge?.stats() ?? null });
  }
});

try {
  const options = { ...job.bridgeOptions, engine };
  bridge = job.direction === 'out' ? await bridgeOut(target as ReturnType<typeof attach>, options) : await bridgeIn(target, options);
  parentPort!.postMessage({ type: 'ready' });
  bridge.done.then(
    () => parentPort!.postMessage({ type: 'ended', stats: bridge!.stats() }),
    (e: Error) => parentPort!.postMessage({ type: 'failed', name: e.name, message: e.message }),
  );
} catch (e) {
  parentPort!.postMessage({ type: 'failed', name: (e as Error).name, message: (e as Error).message });
}
