// Metrics for Prometheus and health events, for a bus and a pipeline (npm install prom-client).
import { createBus, createPipeline, watchHealth } from 'ringbus';
import { RingbusMetrics, serveMetrics } from 'ringbus/metrics';

const bus = createBus({ topics: ['orders'] });
const pipeline = createPipeline({
  inputs: ['lines'],
  outputs: ['parsed'],
  stages: [{ name: 'parse', module: new URL('../pipeline/stages/parse.js', import.meta.url), consumes: ['lines'], produces: ['parsed'] }],
});

new RingbusMetrics().addBus('orders', bus).addPipeline('ingest', pipeline);
const server = await serveMetrics({ port: 0 }); // 9464 in production; 0: any free port
const ops = createBus({ topics: ['ops'] }); // where health events are published too (optional)
const watch = watchHealth({ buses: { orders: bus }, pipelines: { ingest: pipeline }, publishTo: ops });
watch.on('health', (e) => console.warn(e.kind, e.message)); // and on ops's topic 'ops'

await pipeline.start();
bus.publish('orders', { id: 1 });
const text = await (await fetch(server.url)).text(); // what Prometheus scrapes
console.log(
  text
    .split('\n')
    .filter((line) => line.startsWith('ringbus_published_events_total'))
    .join('\n'),
);
watch.close();
await pipeline.close();
await server.close();
bus.close();
ops.close();
