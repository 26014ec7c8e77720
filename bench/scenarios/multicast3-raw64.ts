// multicast3-raw64: one producer worker, three consumer workers that each see every event
// (four busy threads on two cores: see the warning the run prints).
import { throughputScenario } from '../scenario.js';
import { broadcastChannel, messageChannel, postMessageBatch, ring } from '../transports/index.js';

export default throughputScenario({
  name: 'multicast3-raw64',
  title: 'multicast 1P-3C (each consumer sees every event), 64-byte raw events',
  payload: 'raw64',
  shape: { producers: 1, consumers: 3, delivery: 'all' },
  transports: [
    ring({ mode: 'claim', count: 128, api: 'pollRaw', pollMax: 1024, guessRate: 10e6 }),
    messageChannel(0.2e6),
    postMessageBatch(2e6, false),
    broadcastChannel({ guessRate: 0.15e6 }),
  ],
});
