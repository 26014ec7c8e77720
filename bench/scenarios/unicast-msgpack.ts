// unicast-msgpack: one producer worker, one consumer, a small telemetry object
// ({ type: 'tick', seq, ts, payload: 40 chars }, bench/payload.ts). The ring encodes it
// with its default codec, 'structured' (msgpackr's MessagePack for a plain object like this
// one; the scenario keeps its name); postMessage sends the object itself (structured clone).
import { throughputScenario, ratioTarget } from '../scenario.js';
import { messageChannel, piscina, postMessage, postMessageBatch, ring, solo } from '../transports/index.js';

export const GOAL_VS_BATCHED = 2;
/** publish per event against postMessage per event. */
export const GOAL_PUBLISH_VS_POSTMESSAGE = 5;

export default throughputScenario({
  name: 'unicast-msgpack',
  title: "unicast 1P-1C, small objects (the default 'structured' codec on the ring, structured clone on postMessage)",
  payload: 'msgpack',
  shape: { producers: 1, consumers: 1, delivery: 'all' },
  transports: [
    ring({ mode: 'batch', count: 100, api: 'poll', pollMax: 1024, guessRate: 2e6 }),
    ring({ transport: 'ring-publish', mode: 'publish', count: 1, api: 'poll', pollMax: 1024, guessRate: 1e6 }),
    postMessage(0.25e6),
    postMessageBatch(2e6),
    messageChannel(0.25e6),
    piscina({ guessRate: 40e3 }),
    solo('eventEmitter', { guessRate: 20e6 }),
    solo('arrayQueue', { guessRate: 10e6 }),
  ],
  targets: (rows) => [
    ...ratioTarget(`unicast-msgpack: ring ≥ ${GOAL_VS_BATCHED}× postMessage-batch`, rows, 'ring', 'postMessage-batch', GOAL_VS_BATCHED),
    ...ratioTarget(
      `unicast-msgpack: ring-publish ≥ ${GOAL_PUBLISH_VS_POSTMESSAGE}× postMessage`,
      rows,
      'ring-publish',
      'postMessage',
      GOAL_PUBLISH_VS_POSTMESSAGE,
    ),
  ],
});
