// A reader in a worker, reading without the event loop. It must see every event, so its
// position is opened here, before anything is published; the worker resumes from it.
import { Worker } from 'node:worker_threads';
import { createBus } from 'ringbus';

const bus = createBus({ topics: ['docs'] });
bus.reader('indexer').close();
const worker = new Worker(new URL('./indexer.js', import.meta.url), { workerData: bus.handle });
worker.on('message', (count) => console.log(`indexed ${count} documents`));
for (let id = 0; id < 1000; id++) await bus.publishAsync('docs', { id, words: id % 7 });
bus.close();
