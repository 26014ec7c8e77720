// Every kind of reader, on one bus; each prints what it got.
import { createBus, type Reader } from 'ringbus';

const bus = createBus({ topics: ['orders', 'refunds'], maxReaders: 16 });
const readers: Record<string, Reader> = {
  audit: bus.reader('audit'), // gating: producers wait for it, it sees every event
  billing: bus.reader('billing', { topics: ['orders'] }), // only these topics, still in order
  store: bus.reader('store', { after: ['audit'] }), // sees an event only once 'audit' has committed it
  w1: bus.reader('w1', { group: 'workers' }), // consumer group: each event to exactly one member
  w2: bus.reader('w2', { group: 'workers' }),
  tap: bus.reader('tap', { lossy: true }), // never holds producers back; reader.missed counts what it lost
};
const publish = (from: number, to: number) => {
  for (let i = from; i < to; i++) bus.publish(i % 3 === 2 ? 'refunds' : 'orders', i);
};
publish(0, 3);
readers.tail = bus.reader('tail', { start: 'newest' }); // from the next event on (default: the oldest still in the ring)
publish(3, 6);
bus.close();
// A reader whose thread died without close() is replaced with bus.reader(name, { takeover: true }).

const got: Record<string, string[]> = Object.fromEntries(Object.keys(readers).map((name) => [name, []]));
for (let any = true; any; ) {
  // two events per reader per round: the group members share the work
  any = false;
  for (const [name, reader] of Object.entries(readers)) {
    if (reader.poll((value, topic) => got[name].push(`${topic}:${value}`), 2) > 0) any = true;
  }
}
for (const [name, events] of Object.entries(got)) console.log(`${name}: ${events.join(' ')}`);
