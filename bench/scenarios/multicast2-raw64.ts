// multicast2-raw64: one producer worker, two consumer workers that each see every event.
import { throughputScenario } from '../scenario.js';
import { broadcastChannel, messageChannel, postMessageBatch, ring } from '../transports/index.js';

export default throughputScenario({
  name: 'multicast2-raw64',
  title: 'multicast 1P-2C (each consumer sees every event), 64-byte raw events',
  payload: 'raw64',
  shape: { producers: 1, consumers: 2, delivery: 'all' },
  transports: [
    ring({ mode: 'claim', count: 128, api: 'pollRaw', pollMax: 1024, guessRate: 15e6 }),
    messageChannel(0.3e6),
    postMessageBatch(3e6, false),
    broadcastChannel({ guessRate: 0.2e6 }),
  ],
});
