// How a game's events reach the one worker that runs it, in order. The only module that
// knows: the server and the workers ask it which topics exist, how to publish an event, and
// which readers a worker reads.
//
// 'keyed': one topic, a keyed consumer group; the bus keeps each game on one member and
//   moves a dead member's games to the others.
// 'partitions': one topic per worker, a game's topic chosen by a hash of its key; when a
//   worker dies, the server hands its topic's reader to a survivor (`adopt`), which resumes
//   from the dead worker's last committed position.
export const ROUTINGS = ['keyed', 'partitions'];
export const DEFAULT_ROUTING = 'keyed';

export function inputTopics(routing, workers) {
  return routing === 'keyed' ? ['moves'] : Array.from({ length: workers }, (_, i) => `moves-${i}`);
}

/** Publishes a game's event without blocking the event loop (calls keep their order). */
export function publishEvent(bus, routing, workers, event) {
  if (routing === 'keyed') return bus.publishAsync('moves', event, { key: event.key });
  return bus.publishAsync(`moves-${partition(event.key, workers)}`, event);
}

/** The readers worker `index` starts with. */
export function openWorkerReaders(bus, routing, index) {
  if (routing === 'keyed') return [bus.reader(`member-${index}`, { group: 'games', keyed: true, topics: ['moves'], wait: 'block' })];
  return [adoptPartition(bus, index, false)];
}

/** Partitions only: a survivor takes over the reader of a dead worker's partition. */
export function adoptPartition(bus, partitionIndex, takeover = true) {
  return bus.reader(`part-${partitionIndex}`, { topics: [`moves-${partitionIndex}`], wait: 'block', takeover });
}

/** FNV-1a of the game's key: the same partition in every thread. */
export function partition(gameKey, workers) {
  const s = String(gameKey);
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h % workers;
}
