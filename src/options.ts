// The pipeline's option checks use the same validation layer as the bus.
export { knownOptions as checkOptions, timeoutMs as checkTimeout } from './validate.js';
