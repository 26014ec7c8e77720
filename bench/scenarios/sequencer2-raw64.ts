// sequencer2-raw64: two producer workers, one consumer; each producer's events must arrive
// in that producer's order (the ring sequences both into one order).
import { throughputScenario } from '../scenario.js';
import { messageChannel, postMessage, postMessageBatch, ring } from '../transports/index.js';

export default throughputScenario({
  name: 'sequencer2-raw64',
  title: 'sequencer 2P-1C (two producers into one order), 64-byte raw events',
  payload: 'raw64',
  shape: { producers: 2, consumers: 1, delivery: 'all' },
  transports: [
    ring({ mode: 'claim', count: 128, api: 'pollRaw', pollMax: 1024, guessRate: 15e6 }),
    postMessage(0.5e6),
    postMessageBatch(5e6),
    messageChannel(0.5e6),
  ],
});
