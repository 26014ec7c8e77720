// The pipeline's option checks use the same validation layer as the bus.
export { knownOptions as checkOptions } from './validate.js';
