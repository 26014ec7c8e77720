// main.ts
import { Worker } from 'node:worker_threads';
import { createBus } from 'ringbus';

const bus = createBus({ capacity: 1 << 20, topics: ['orders', 'refunds'] });
const audit = bus.reader<{ id: number }>('audit-log'); // a gating reader, of every topic
new Worker(new URL('./producer.js', import.meta.url), { workerData: bus.handle });

for await (const { topic, seq, value } of audit) {
  // event loop stays free
  console.log(seq, topic, value.id);
} // ends after bus.close()
