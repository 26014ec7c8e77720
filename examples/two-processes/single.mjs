// The same three stages in one process, for comparison: prints what b.mjs prints.
//   node examples/two-processes/single.mjs 10000
import { createPipeline } from 'ringbus';
import { lines, stage } from './lines.mjs';

const expected = Number(process.argv[2] ?? '10000');
const pipeline = createPipeline({
  inputs: ['lines'],
  outputs: ['indexed'],
  stages: [stage('parse', ['lines'], ['parsed']), stage('enrich', ['parsed'], ['enriched']), stage('index', ['enriched'], ['indexed'])],
});
const results = pipeline.output.reader('results', { topics: ['indexed'] });
await pipeline.start();
const publishing = pipeline.publishBatchAsync('lines', lines(expected));
let seen = 0;
for await (const { value } of results) {
  process.stdout.write(JSON.stringify(value) + '\n');
  if (++seen === expected) break;
}
await publishing;
await pipeline.close();
