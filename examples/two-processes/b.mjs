// Process B: bridge 'enriched' in from JetStream (or Redis) as the pipeline's input, index,
// print the results (JSON, one a line).
//   node examples/two-processes/b.mjs nats://127.0.0.1:4222 10000
import { createPipeline } from 'ringbus';
import { engineAt, stage } from './lines.mjs';

const [url = 'nats://127.0.0.1:4222', count = '10000'] = process.argv.slice(2);
const { bridgeIn, engine } = await engineAt(url);
const expected = Number(count);
const pipeline = createPipeline({
  inputs: ['enriched'],
  bridgedInputs: ['enriched'],
  outputs: ['indexed'],
  stages: [stage('index', ['enriched'], ['indexed'])],
});
const results = pipeline.output.reader('results', { topics: ['indexed'] });
await pipeline.start();
const into = await bridgeIn(pipeline, { topics: ['enriched'], name: 'example-b', engine });

let seen = 0;
for await (const { value } of results) {
  process.stdout.write(JSON.stringify(value) + '\n');
  if (++seen === expected) break;
}
await into.close();
await pipeline.close();
