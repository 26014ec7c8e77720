// unicast-raw4k: one producer worker, one consumer, 4 KB raw events (every byte checked).
import { throughputScenario } from '../scenario.js';
import { messageChannel, postMessage, postMessageBatch, ring, ringbufjs, solo } from '../transports/index.js';

export default throughputScenario({
  name: 'unicast-raw4k',
  title: 'unicast 1P-1C, 4 KB raw events',
  payload: 'raw4k',
  shape: { producers: 1, consumers: 1, delivery: 'all' },
  transports: [
    ring({ mode: 'claim', count: 16, api: 'pollRaw', pollMax: 256, guessRate: 1e6 }),
    ring({ transport: 'ring-publishBatch', mode: 'batch', count: 16, api: 'poll', pollMax: 256, guessRate: 0.7e6 }),
    postMessage(0.2e6),
    postMessageBatch(0.4e6),
    messageChannel(0.2e6),
    ringbufjs({ guessRate: 0.7e6 }),
    solo('eventEmitter', { guessRate: 2e6 }),
    solo('arrayQueue', { guessRate: 1e6 }),
  ],
});
