// group2-raw64: one producer worker, a consumer group of two workers that share the events
// (each event to exactly one member). The members' counts and checksums must add up.
import { throughputScenario } from '../scenario.js';
import { messageChannel, piscina, postMessageBatch, ring } from '../transports/index.js';

export default throughputScenario({
  name: 'group2-raw64',
  title: 'consumer group 1P, 2 workers sharing the events, 64-byte raw events',
  payload: 'raw64',
  shape: { producers: 1, consumers: 2, delivery: 'share' },
  transports: [
    ring({ mode: 'claim', count: 128, api: 'pollRaw', pollMax: 1024, guessRate: 15e6 }),
    messageChannel(0.5e6),
    postMessageBatch(4e6, false),
    piscina({ guessRate: 50e3 }),
  ],
});
