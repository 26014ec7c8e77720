// indexer.ts: runs in a worker
import { parentPort, workerData } from 'node:worker_threads';
import { attach } from 'ringbus';

const bus = attach(workerData);
const words = new Map<number, number>();
const index = (value: { id: number; words: number }) => words.set(value.id, value.words);

const reader = bus.reader<{ id: number; words: number }>('indexer', { wait: 'block' });
while (!reader.ended) {
  // closed, and everything read
  reader.wait(1000); // sleeps until events (or 1 s)
  reader.poll((value) => index(value), 256); // handler(value, topic, seq); position committed after the batch
}
reader.close();
parentPort!.postMessage(words.size);
