// A game worker: reads its games' events, applies them, publishes each new snapshot (which
// the server pushes to the players) and each refusal, then commits the events it read.
// Every worker also reads every snapshot (its replica): when a dead worker's games come to
// it, it already holds their latest state.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { attach } from 'ringbus';
import { GameHost } from './game-host.js';
import { adoptPartition, openWorkerReaders } from './routing.js';

const { index, routing, work } = workerData;
const input = attach(workerData.input);
const output = attach(workerData.output);
const analytics = attach(workerData.analytics);
const host = new GameHost(work, index);
for (const snapshot of workerData.seed) host.learn(snapshot);
const replica = output.reader(`replica-${index}`, { topics: ['state'] });
const readers = openWorkerReaders(input, routing, index);
const pause = new Int32Array(new SharedArrayBuffer(4));

const drainReplica = () => {
  while (replica.poll((snapshot) => host.learn(snapshot), 1024) > 0);
};

// Never waits blocked on the output ring: the other workers' replicas may be waiting for
// this one to read its own (each worker is a reader and a producer of that ring).
function publishOut(topic, value) {
  while (!output.tryPublish(topic, value)) {
    drainReplica();
    Atomics.wait(pause, 0, 0, 0.2);
  }
}

parentPort.postMessage({ ready: index });
for (;;) {
  for (let m = receiveMessageOnPort(parentPort); m; m = receiveMessageOnPort(parentPort)) {
    if (m.message.adopt !== undefined) readers.push(adoptPartition(input, m.message.adopt));
  }
  drainReplica();
  let handled = 0;
  for (const reader of readers) {
    const batch = reader.read(64);
    if (batch.length === 0) continue;
    drainReplica();
    const figures = [];
    // Each update goes out at once (its players wait for it); the batch is committed after all.
    for (const { value: event } of batch) {
      const r = host.handle(event);
      if (!r) continue;
      publishOut(r.topic, r.value);
      if (r.topic === 'state') figures.push(figure(r));
    }
    reader.commit();
    // Analytics are never waited for: their readers are lossy.
    if (figures.length > 0) analytics.tryPublishEvents(figures.map((value) => ({ topic: 'analytics', value })));
    handled += batch.length;
  }
  if (readers.every((r) => r.ended)) break;
  if (handled === 0) readers[0].wait(readers.length > 1 ? 5 : 50);
}
for (const r of readers) r.close();
replica.close();

function figure({ value, micros }) {
  const kind = value.mid === 0 ? 'start' : value.status === 'playing' ? 'turn' : 'end';
  return { kind, micros, worker: index };
}
