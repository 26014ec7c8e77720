import { createPipeline } from 'ringbus';

const lines = ['ada', 'grace', 'edsger', 'barbara', 'ken'].map((name, id) => JSON.stringify({ id, name }));

const pipeline = createPipeline({
  inputs: ['lines'], // published from outside
  outputs: ['indexed'], // read from outside
  stages: [
    { name: 'parse', module: new URL('./stages/parse.js', import.meta.url), consumes: ['lines'], produces: ['parsed'], retry: { attempts: 3 } },
    { name: 'enrich', module: new URL('./stages/enrich.js', import.meta.url), consumes: ['parsed'], produces: ['enriched'], concurrency: 2 },
    { name: 'index', module: new URL('./stages/index.js', import.meta.url), consumes: ['enriched'], produces: ['indexed'] },
  ],
});
console.log(pipeline.describe('mermaid')); // or 'dot', or describe() for the graph as data
const results = pipeline.output.reader('results'); // open output readers before publishing
await pipeline.start(); // workers loaded and reading

const indexed: string[] = [];
const reading = (async () => {
  // read the outputs while publishing:
  for await (const { topic, value } of results) {
    // a full output ring holds the stages back
    indexed.push(`${topic} ${JSON.stringify(value)}`); // 'indexed' events and 'dead-letter' ones
  }
})();
await pipeline.publishBatchAsync('lines', lines);
await pipeline.drain({ timeoutMs: 10_000 }); // everything handled, loops included
await pipeline.close(); // closes the rings: the for await ends
await reading;
console.log(indexed.sort().join('\n')); // two enrich workers: the order across them may vary
