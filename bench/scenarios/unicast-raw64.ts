// unicast-raw64: one producer worker, one consumer, 64-byte raw events. The ring's main
// figure is the zero-copy path (claim of 128 records written in place, pollRaw); its other
// APIs are the ring-publishBatch and ring-claimPerEvent rows.
//
// Settings of the zero-copy variant, the fastest found on a 2-core AMD EPYC VM (claims of
// 32 to 256 records, pollRaw of 256 to 4096, waits block/yield/spin, rings of 1 to 64 MiB):
// counts, pollRaw sizes and wait strategies were within the noise; the capacity was not:
// with a 1 MiB ring the producer keeps it full and the pair moved ~31-34M events/s, against
// ~41M with 16 MiB (the default --capacity), where neither side waits.
import { throughputScenario, ratioTarget } from '../scenario.js';
import { target } from '../flow.js';
import { messageChannel, piscina, postMessage, postMessageBatch, ring, ringbufjs, solo } from '../transports/index.js';

/** Our goals (issue 4): ring ≥ 60× postMessage per event, and at least the plain-JS floor (../shared/BASELINES.md). */
export const GOAL_VS_POSTMESSAGE = 60;
export const PLAIN_JS_FLOOR = 12.9e6;

export default throughputScenario({
  name: 'unicast-raw64',
  title: 'unicast 1P-1C, 64-byte raw events',
  payload: 'raw64',
  shape: { producers: 1, consumers: 1, delivery: 'all' },
  transports: [
    ring({ mode: 'claim', count: 128, api: 'pollRaw', pollMax: 1024, guessRate: 30e6 }),
    ring({ transport: 'ring-publishBatch', mode: 'batch', count: 64, api: 'poll', pollMax: 1024, guessRate: 15e6 }),
    ring({ transport: 'ring-claimPerEvent', mode: 'claim', count: 1, api: 'poll', pollMax: 1024, guessRate: 3e6 }),
    postMessage(0.5e6),
    postMessageBatch(5e6),
    messageChannel(0.6e6),
    piscina({ guessRate: 50e3 }),
    ringbufjs({ guessRate: 10e6 }),
    solo('eventEmitter', { guessRate: 20e6 }),
    solo('arrayQueue', { guessRate: 10e6 }),
  ],
  targets: (rows) => [
    ...ratioTarget(`unicast-raw64: ring ≥ ${GOAL_VS_POSTMESSAGE}× postMessage`, rows, 'ring', 'postMessage', GOAL_VS_POSTMESSAGE),
    ...(rows.has('ring') ? [target(`unicast-raw64: ring ≥ the plain-JS floor, 12.9M events/s`, rows.get('ring')!.eventsPerSec, PLAIN_JS_FLOOR, 'events/s')] : []),
  ],
});
