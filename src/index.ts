export { attach, Bus, createBus, type AttachOptions, type BusOptions, type BusStats, type ClaimOptions, type PublishOptions } from './bus.js';
export { type BusHandle } from './ring.js';
export { Reader, type BusEvent, type Handler, type RawRecord, type ReaderOptions } from './reader.js';
export { type ReaderStats } from './stats.js';
export { Claim } from './producer.js';
export { json, msgpack, raw, FIRST_USER_CODEC, type Codec, type CodecName } from './codec.js';
export { async, block, spin, yielding, type WaitSite, type WaitStrategy, type WaitStrategyName } from './wait-strategy.js';
export * from './errors.js';
