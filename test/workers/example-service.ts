// A running service for `ringbus top`'s tests: a bus with a reader that keeps up and one
// that never reads, a one-stage pipeline fed steadily, a health watch, and the metrics on
// a free port of 127.0.0.1, whose URL it prints. Runs until killed (or 60 s).
import { createBus, createPipeline, watchHealth } from 'ringbus';
import { RingbusMetrics, serveMetrics } from 'ringbus/metrics';

const bus = createBus({ capacity: 1 << 20, topics: ['orders'] });
const audit = bus.reader('audit');
bus.reader('billing').close(); // never read: the slowest, and stalled
const pipeline = createPipeline({
  inputs: ['in'],
  outputs: ['out'],
  standby: 0,
  stages: [
    { name: 'step', module: new URL('./stages/step.js', import.meta.url), consumes: ['in'], produces: ['out'], options: { op: 'add', k: 1, to: ['out'] } },
  ],
});
const out = pipeline.output.reader('out', { lossy: true });
await pipeline.start();
const watch = watchHealth({ buses: { orders: bus }, pipelines: { ingest: pipeline }, intervalMs: 200, thresholds: { stalledSeconds: 1 } });
new RingbusMetrics().addBus('orders', bus).addPipeline('ingest', pipeline).addHealth(watch);
const server = await serveMetrics({ port: 0 });

let id = 0;
const feed = setInterval(() => {
  for (let i = 0; i < 100; i++) bus.publish('orders', { id: id++ });
  audit.poll(() => undefined, 1000);
  void pipeline.publishBatchAsync(
    'in',
    Array.from({ length: 50 }, (_, k) => ({ id: k, x: k, trail: '' })),
  );
  out.poll(() => undefined, 1000);
}, 100);
process.stdout.write(`${server.url}\n`);

const end = async () => {
  clearInterval(feed);
  watch.close();
  await server.close();
  await pipeline.close();
  process.exit(0);
};
process.once('SIGTERM', () => void end());
setTimeout(() => void end(), 60_000).unref();
setTimeout(() => undefined, 60_000); // stays up until killed
