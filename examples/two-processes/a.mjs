// Process A: parse and enrich, then bridge the output 'enriched' out to JetStream (or Redis).
//   node examples/two-processes/a.mjs nats://127.0.0.1:4222 10000
import { createPipeline } from 'ringbus';
import { engineAt, lines, stage } from './lines.mjs';

const [url = 'nats://127.0.0.1:4222', count = '10000'] = process.argv.slice(2);
const { bridgeOut, engine } = await engineAt(url);
const pipeline = createPipeline({
  inputs: ['lines'],
  outputs: ['enriched'],
  stages: [stage('parse', ['lines'], ['parsed']), stage('enrich', ['parsed'], ['enriched'])],
});
// Opened before start(): the bridge's reader sees every output.
const out = await bridgeOut(pipeline, { topics: ['enriched'], name: 'example-a', engine });
await pipeline.start();
await pipeline.publishBatchAsync('lines', lines(Number(count)));
await pipeline.drain({ timeoutMs: 30_000 });
while (out.stats().lagEvents > 0) await new Promise((r) => setTimeout(r, 20));
await out.close();
await pipeline.close();
console.error(`a: ${out.stats().published} events stored in ${engine.name}`);
