// producer.ts (runs as built JavaScript: Node 20 cannot load .ts in a worker)
import { workerData } from 'node:worker_threads';
import { attach } from 'ringbus';

const bus = attach(workerData); // the handle is structured-cloneable
for (let id = 0; id < 1000; id++) bus.publish('orders', { id });
bus.publishBatch('orders', [{ id: 1000 }, { id: 1001 }]); // one claim, one commit
bus.close(); // stops publishing, in every thread
