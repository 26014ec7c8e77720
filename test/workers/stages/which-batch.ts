// which.ts without its records handlers: a batch handler, a per-event one and a default.
export { batch, batchAlt, default, handler, handlerAlt } from './which.js';
