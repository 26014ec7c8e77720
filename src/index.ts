export { attach, Bus, createBus } from './bus.js';
export type {
  AbortOptions,
  AnyTopics,
  AsyncBatchPublishOptions,
  AsyncOptions,
  AsyncPublishOptions,
  AttachOptions,
  BatchPublishOptions,
  BusEvent,
  BusHandle,
  BusOptions,
  BusStats,
  ClaimOptions,
  Codec,
  CodecName,
  EventKey,
  Handler,
  KeyedPublishOptions,
  OutgoingEvent,
  PhasedOptions,
  ProducerStats,
  PublishOptions,
  RawRecord,
  ReaderOptions,
  ReaderStats,
  TopicEvent,
  TopicHandler,
  TopicMap,
  TopicName,
  TopicReader,
  TopicReaderOptions,
  TopicStats,
  WaitSite,
  WaitStrategy,
  WaitStrategyName,
} from './types.js';
export { keyHash } from './key.js';
export { Reader } from './reader.js';
export { Claim } from './producer.js';
export { json, msgpack, raw, structured, FIRST_USER_CODEC } from './codec.js';
export { phased } from './wait-strategy.js';
export * from './errors.js';
export {
  createPipeline,
  describePipeline,
  Pipeline,
  type PipelineDescription,
  type PipelineInputHandle,
  type PipelineOptions,
  type PipelineStats,
  type StageStats,
} from './pipeline/pipeline.js';
export type { PipelineCodec } from './pipeline/plan.js';
export type {
  BatchContext,
  RecordBatch,
  RetryPolicy,
  StageBatchHandler,
  StageContext,
  StageDeclaration,
  StageHandler,
  StageRecordsHandler,
} from './pipeline/declaration.js';
export type { DeadLetter } from './pipeline/dead-letter.js';
export type { Edge, TopicNode } from './pipeline/topology.js';
export { HealthWatch, watchHealth, type HealthEvent, type HealthKind, type HealthOptions, type HealthThresholds } from './health/watch.js';
