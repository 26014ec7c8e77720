// Runs the game server: node examples/game-server/server.js --port 8080 [--workers 2]
//   [--work-us 50] (µs of computation per turn) [--logic workers|inline] [--routing keyed|partitions]
import { parseArgs } from 'node:util';
import { calibrate } from './connect-four.js';
import { startGameServer } from './game-server.js';
import { DEFAULT_ROUTING } from './routing.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8080' },
    host: { type: 'string', default: '127.0.0.1' },
    workers: { type: 'string', default: '2' },
    'work-us': { type: 'string', default: '0' },
    logic: { type: 'string', default: 'workers' },
    routing: { type: 'string', default: DEFAULT_ROUTING },
  },
});
const server = await startGameServer({
  port: Number(values.port),
  host: values.host,
  workers: Number(values.workers),
  work: calibrate(Number(values['work-us'])),
  logic: values.logic,
  routing: values.routing,
});
console.log(`game server on ${server.url} (${values.logic}, ${values.workers} workers): open it in two browser tabs to play`);
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
