// Process B: bridge 'enriched' in from JetStream, index, print the results (JSON, one a line).
//   node examples/two-processes/b.mjs nats://127.0.0.1:4222 10000
import { createBus, createPipeline } from 'ringbus';
import { bridgeIn, natsEngine } from 'ringbus/nats';
import { stage } from './lines.mjs';

const [servers = 'nats://127.0.0.1:4222', count = '10000'] = process.argv.slice(2);
const expected = Number(count);
const bus = createBus({ topics: ['enriched', 'bridge-progress'] });
const pipeline = createPipeline({ inputs: ['enriched'], outputs: ['indexed'], stages: [stage('index', ['enriched'], ['indexed'])] });
const results = pipeline.output.reader('results', { topics: ['indexed'] });
const arrivals = bus.reader('to-pipeline', { topics: ['enriched'] });
await pipeline.start();
const into = await bridgeIn(bus, { topics: ['enriched'], name: 'example-b', progressTopic: 'bridge-progress', engine: natsEngine({ servers, stream: 'EXAMPLE' }) });

const feeding = (async () => {
  for await (const { value } of arrivals) await pipeline.publishAsync('enriched', value);
})();
let seen = 0;
for await (const { value } of results) {
  process.stdout.write(JSON.stringify(value) + '\n');
  if (++seen === expected) break;
}
await into.close();
bus.close();
await feeding;
await pipeline.close();
