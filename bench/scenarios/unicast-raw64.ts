// unicast-raw64: one producer worker, one consumer, 64-byte raw events. The ring's main
// figure is the zero-copy path (claim of 128 records written in place, pollRaw); its other
// APIs are the ring-publishBatch, ring-publish and ring-claimPerEvent rows. plainSab is the
// floor: the smallest SharedArrayBuffer ring in plain JS, with the same events and checks.
//
// Settings of the zero-copy variant, the fastest found on a 2-core AMD EPYC VM (claims of
// 32 to 256 records, pollRaw of 256 to 4096, waits block/yield/spin, rings of 1 to 64 MiB):
// counts, pollRaw sizes and wait strategies were within the noise; the capacity was not:
// with a 1 MiB ring the producer keeps it full and the pair moved ~31-34M events/s, against
// ~41M with 16 MiB (the default --capacity), where neither side waits.
import { throughputScenario, ratioTarget, type Row } from '../scenario.js';
import { messageChannel, piscina, plainSab, postMessage, postMessageBatch, ring, ringbufjs, solo, threadStream } from '../transports/index.js';

/** Our goals: every one a ratio measured in the same run. */
export const GOAL_VS_POSTMESSAGE = 60;
export const GOAL_VS_FLOOR = 1;
export const GOAL_PUBLISH_VS_BATCHED = 0.5;
export const GOAL_PUBLISH_VS_POSTMESSAGE = 25;

/** The batched rows of the ring: the best of them is "the ring's best batched row". */
const BATCHED = ['ring', 'ring-publishBatch'];

function bestBatched(rows: ReadonlyMap<string, Row>): string {
  const best = BATCHED.map((t) => rows.get(t))
    .filter((r): r is Row => r !== undefined)
    .sort((a, b) => b.eventsPerSec - a.eventsPerSec)[0];
  return best?.transport ?? 'ring';
}

export default throughputScenario({
  name: 'unicast-raw64',
  title: 'unicast 1P-1C, 64-byte raw events',
  payload: 'raw64',
  shape: { producers: 1, consumers: 1, delivery: 'all' },
  transports: [
    ring({ mode: 'claim', count: 128, api: 'pollRaw', pollMax: 1024, guessRate: 30e6 }),
    ring({ transport: 'ring-publishBatch', mode: 'batch', count: 64, api: 'poll', pollMax: 1024, guessRate: 15e6 }),
    ring({ transport: 'ring-publish', mode: 'publish', count: 1, api: 'pollRaw', pollMax: 1024, guessRate: 3e6 }),
    ring({ transport: 'ring-claimPerEvent', mode: 'claim', count: 1, api: 'poll', pollMax: 1024, guessRate: 3e6 }),
    plainSab({ guessRate: 30e6 }),
    postMessage(0.5e6),
    postMessageBatch(5e6),
    messageChannel(0.6e6),
    piscina({ guessRate: 50e3 }),
    ringbufjs({ guessRate: 10e6 }),
    threadStream({ guessRate: 3e6 }),
    solo('eventEmitter', { guessRate: 20e6 }),
    solo('arrayQueue', { guessRate: 10e6 }),
  ],
  targets: (rows) => {
    const best = bestBatched(rows);
    return [
      ...ratioTarget(`unicast-raw64: ring ≥ ${GOAL_VS_FLOOR}× plainSab (the plain-JS floor)`, rows, 'ring', 'plainSab', GOAL_VS_FLOOR),
      ...ratioTarget(`unicast-raw64: ring ≥ ${GOAL_VS_POSTMESSAGE}× postMessage`, rows, 'ring', 'postMessage', GOAL_VS_POSTMESSAGE),
      ...ratioTarget(
        `unicast-raw64: ring-publish ≥ ${GOAL_PUBLISH_VS_BATCHED}× the best batched ring row`,
        rows,
        'ring-publish',
        best,
        GOAL_PUBLISH_VS_BATCHED,
      ),
      ...ratioTarget(
        `unicast-raw64: ring-publish ≥ ${GOAL_PUBLISH_VS_POSTMESSAGE}× postMessage`,
        rows,
        'ring-publish',
        'postMessage',
        GOAL_PUBLISH_VS_POSTMESSAGE,
      ),
    ];
  },
});
