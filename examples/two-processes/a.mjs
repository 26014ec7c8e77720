// Process A: parse and enrich, then bridge 'enriched' out to JetStream.
//   node examples/two-processes/a.mjs nats://127.0.0.1:4222 10000
import { createPipeline } from 'ringbus';
import { bridgeOut, natsEngine } from 'ringbus/nats';
import { lines, stage } from './lines.mjs';

const [servers = 'nats://127.0.0.1:4222', count = '10000'] = process.argv.slice(2);
const pipeline = createPipeline({
  inputs: ['lines'],
  outputs: ['enriched'],
  stages: [stage('parse', ['lines'], ['parsed']), stage('enrich', ['parsed'], ['enriched'])],
});
// Opened before start(): the bridge's reader sees every output.
const out = await bridgeOut(pipeline, { topics: ['enriched'], name: 'example-a', engine: natsEngine({ servers, stream: 'EXAMPLE' }) });
await pipeline.start();
await pipeline.publishBatchAsync('lines', lines(Number(count)));
await pipeline.drain({ timeoutMs: 30_000 });
while (out.stats().lagEvents > 0) await new Promise((r) => setTimeout(r, 20));
await out.close();
await pipeline.close();
console.error(`a: ${out.stats().published} events stored in JetStream`);
