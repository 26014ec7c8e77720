// The transports a scenario can pick, with the settings the bench uses for each.
export { ring, type RingOptions } from './ring.js';
export { ports, type PortsOptions } from './ports.js';
export { piscina } from './piscina.js';
export { ringbufjs } from './ringbufjs.js';
export { solo } from './solo.js';
import { ports } from './ports.js';

/** postMessage one event per message, worker -> main thread. */
export const postMessage = (guessRate: number) => ports({ transport: 'postMessage', batch: 1, mainConsumer: true, guessRate });
/** postMessage, 100 events per message; to the main thread with one consumer, else to worker consumers. */
export const postMessageBatch = (guessRate: number, mainConsumer = true) => ports({ transport: 'postMessage-batch', batch: 100, mainConsumer, guessRate });
/** A MessageChannel per producer-consumer pair of workers, one event per message. */
export const messageChannel = (guessRate: number) => ports({ transport: 'messageChannel', batch: 1, mainConsumer: false, guessRate });
export { plainSab } from './plain-sab.js';
export { broadcastChannel } from './broadcast.js';
export { threadStream } from './thread-stream.js';
