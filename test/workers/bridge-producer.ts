// Publishes { p, i } for i = 0..count-1 with the strict MessagePack codec, in batches, optionally paced.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type BusHandle } from 'ringbus';

const { handle, topic, producer, count, batch, pauseMs } = workerData as {
  handle: BusHandle;
  topic: string;
  producer: number;
  count: number;
  batch: number;
  pauseMs: number;
};
const bus = attach(handle, { codec: 'msgpack', wait: 'block' });
const idle = new Int32Array(new SharedArrayBuffer(4));
for (let i = 0; i < count; ) {
  const values = [];
  for (const end = Math.min(count, i + batch); i < end; i++) values.push({ p: producer, i });
  bus.publishBatch(topic, values);
  if (pauseMs > 0) Atomics.wait(idle, 0, 0, pauseMs);
}
parentPort!.postMessage({ type: 'done', published: count });
