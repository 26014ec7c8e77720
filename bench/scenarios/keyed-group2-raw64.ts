// keyed-group2-raw64: one producer worker publishes with keys (10,000 of them, in turn), a
// keyed group of two workers: each key's events to one member. Beside it, the same batches
// without keys to a plain group of two, so the row shows what keyed routing costs: every
// member scans every record and skips the keys of the other.
import { throughputScenario } from '../scenario.js';
import { ring } from '../transports/index.js';

export default throughputScenario({
  name: 'keyed-group2-raw64',
  title: 'keyed group 1P, 2 workers, each key to one member, 64-byte raw events',
  payload: 'raw64',
  shape: { producers: 1, consumers: 2, delivery: 'share' },
  transports: [
    ring({ mode: 'batch', count: 128, api: 'pollRaw', pollMax: 1024, guessRate: 5e6, keys: 10_000 }),
    ring({ transport: 'ring-unkeyed', mode: 'batch', count: 128, api: 'pollRaw', pollMax: 1024, guessRate: 5e6 }),
  ],
});
