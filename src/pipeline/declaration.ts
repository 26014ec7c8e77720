import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ResourceLimits } from 'node:worker_threads';
import { InvalidOptionError } from '../errors.js';
import { checkLimits } from './worker-limits.js';
import { checkOptions } from '../options.js';
import { MAX_READERS } from '../validate.js';

/** What a stage's handler gets besides the event. */
export interface StageContext {
  /** The stage's name. */
  readonly stage: string;
  /** Which of the stage's `concurrency` workers this is (0-based). */
  readonly worker: number;
  /** Topic of the event being handled. */
  readonly topic: string;
  /** Sequence number of the event in its stage's input ring. */
  readonly seq: number;
  /** 1 on the first try, 2 on the first retry, and so on. */
  readonly attempt: number;
  /** The stage's `options`, as declared. */
  readonly options: unknown;
  /**
   * Publishes `value` into `topic` (one of the stage's `produces`) once the handler has
   * returned: what a failed attempt emitted is discarded, so a retry does not duplicate it.
   */
  emit(topic: string, value: unknown): void;
  /**
   * Passes the event on into `topic` (one of the stage's `produces`) as it lies in the ring:
   * its record is copied, not encoded again (discarded, like emits, if the attempt fails).
   */
  forward(topic: string): void;
}

/** A stage module exports this as `handler` (or as its default export). */
export type StageHandler<T = any> = (value: T, context: StageContext) => void | Promise<void>;

/** What a batch handler gets besides the batch's values. */
export interface BatchContext {
  readonly stage: string;
  readonly worker: number;
  /** Topic of each event of the batch, by index. */
  readonly topics: readonly string[];
  /** Sequence number of each event of the batch in its stage's input ring, by index. */
  readonly seqs: readonly number[];
  /** 1 on the first try; a batch that fails is handled again one event per call (see the README). */
  readonly attempt: number;
  readonly options: unknown;
  /** Publishes `value` into `topic` once the handler has returned (discarded if it fails). */
  emit(topic: string, value: unknown): void;
  /** emit() for each of `values`, in order. */
  emitMany(topic: string, values: readonly unknown[]): void;
  /**
   * Passes the batch's events `from` (default 0) up to `to` (default: the batch's end) on
   * into `topic` as they lie in the ring: their records are copied, not decoded or encoded.
   */
  forward(topic: string, from?: number, to?: number): void;
}

/**
 * The events of a batch as they lie in the stage's input ring, for a records handler: no
 * value is made unless asked for. Valid until the handler's promise settles.
 */
export interface RecordBatch {
  /** Events in the batch. */
  readonly length: number;
  /** The ring's whole memory: event i's payload is `bytes.subarray(offset(i), offset(i) + byteLength(i))`. Read-only. */
  readonly bytes: Uint8Array;
  offset(i: number): number;
  byteLength(i: number): number;
  topic(i: number): string;
  seq(i: number): number;
  /** The codec id its writer used (0 raw, 1 msgpack, 2 json, 3 structured). */
  codec(i: number): number;
  /** Event i decoded (with the raw codec: a view of its payload). */
  value(i: number): unknown;
}

/**
 * A stage module may export this as `records` (or under the stage's `recordsExport`): it
 * gets a whole batch as records, decoded only where it asks, and usually passes events on
 * with `context.forward()`.
 */
export type StageRecordsHandler = (batch: RecordBatch, context: BatchContext) => void | Promise<void>;

/**
 * A stage module may export this as `batch` (or under the stage's `batchExport`): it gets
 * a whole batch of the stage's events at once. With the raw codec, the values are views of
 * the ring's records, valid until the handler's promise settles.
 */
export type StageBatchHandler<T = any> = (values: readonly T[], context: BatchContext) => void | Promise<void>;

export interface RetryPolicy {
  /** Tries in all, the first included, before the event goes to the dead-letter topic. Default 3. */
  attempts?: number;
  /** Pause before each retry, in ms. Default 0. */
  backoffMs?: number;
}

export interface StageDeclaration {
  /** Unique within the pipeline: names its reader, its stats and its errors. */
  name: string;
  /** An ES module (a URL, or a path: absolute, or relative to the working directory when the pipeline is created) whose `handler` export (or default export) handles events. */
  module: string | URL;
  /** Name of the export to call instead of `handler`. */
  export?: string;
  /** Name of the batch handler's export, used instead of the per-event handler. Default: `batch`, where the module exports one. */
  batchExport?: string;
  /** Name of the records handler's export, used instead of the others. Default: `records`, where the module exports one. */
  recordsExport?: string;
  /** Topics whose events this stage handles. */
  consumes: readonly string[];
  /** Topics its handler may emit into. */
  produces?: readonly string[];
  /** Workers sharing the stage's events as a consumer group; each event goes to one. Default 1. */
  concurrency?: number;
  retry?: RetryPolicy;
  /** Handed to the handler as `context.options` (structured-cloneable). */
  options?: unknown;
  /** Bytes of the stage's input ring (a power of two). Default: the pipeline's `capacity`. */
  capacity?: number;
  /** Most events a worker takes per batch. Default 256. */
  batchSize?: number;
  /**
   * A handler call (a batch handler's: the whole batch) that runs longer than this, in ms
   * (a busy loop, a promise that never settles), is a failed attempt: its worker is
   * replaced, and after its attempts the event goes to the dead-letter topic with a
   * HandlerTimeoutError. Default: no limit.
   */
  handlerTimeoutMs?: number;
  /**
   * Most emitted events a worker holds unpublished: past it, they are published after the
   * event that reached it, before the next one is handled. Default 65,536.
   */
  maxUnpublished?: number;
  /**
   * worker_threads resourceLimits of this stage's workers, merged key by key over the
   * pipeline's. A stage with limits of its own is healed by a new worker, never by a
   * standby (which runs with the pipeline's limits).
   */
  resourceLimits?: ResourceLimits;
}

/** A declaration after its defaults are filled in. */
export interface Stage {
  readonly name: string;
  readonly index: number;
  readonly module: string;
  readonly exportName: string | undefined;
  readonly batchExport: string | undefined;
  readonly recordsExport: string | undefined;
  readonly consumes: readonly string[];
  readonly produces: readonly string[];
  readonly concurrency: number;
  readonly attempts: number;
  readonly backoffMs: number;
  readonly options: unknown;
  readonly capacity: number | undefined;
  readonly batchSize: number;
  /** 0: no limit. */
  readonly handlerTimeoutMs: number;
  readonly maxUnpublished: number;
  /** The stage's own limits, checked; merged over the pipeline's when its workers start. */
  readonly resourceLimits: ResourceLimits | undefined;
}

const STAGE_KEYS: readonly (keyof StageDeclaration)[] = [
  'name',
  'module',
  'export',
  'batchExport',
  'recordsExport',
  'consumes',
  'produces',
  'concurrency',
  'retry',
  'options',
  'capacity',
  'batchSize',
  'handlerTimeoutMs',
  'maxUnpublished',
  'resourceLimits',
];

function topicList(stage: string, field: string, value: unknown, required: boolean): string[] {
  if (value === undefined && !required) return [];
  if (!Array.isArray(value) || value.some((t) => typeof t !== 'string' || t === '')) {
    throw new InvalidOptionError(`stage "${stage}": ${field} must be an array of topic names, got ${JSON.stringify(value)}`);
  }
  if (required && value.length === 0) throw new InvalidOptionError(`stage "${stage}": consumes is empty; a stage must consume at least one topic`);
  return [...new Set(value as string[])];
}

function positiveInt(stage: string, field: string, value: unknown, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || (value as number) < min)
    throw new InvalidOptionError(`stage "${stage}": ${field} must be an integer of at least ${min}, got ${String(value)}`);
  return value as number;
}

function moduleSpecifier(stage: string, module: unknown): string {
  if (module instanceof URL) return module.href;
  if (typeof module === 'string' && module !== '') {
    if (/^[a-z][a-z0-9+.-]+:/i.test(module)) return module; // a URL (two letters at least: not a drive letter)
    // pathToFileURL escapes what a URL would read otherwise: '#' (a fragment), '%', spaces
    return pathToFileURL(resolve(module)).href;
  }
  throw new InvalidOptionError(
    `stage "${stage}": module must be a URL or a path of an ES module (for example new URL('./parse.js', import.meta.url)), got ${JSON.stringify(module)}`,
  );
}

function timeoutOf(stage: string, value: unknown): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value))
    throw new InvalidOptionError(`stage "${stage}": handlerTimeoutMs must be a positive number of milliseconds, got ${String(value)}`);
  return value;
}

/** Options travel to the workers by structured clone: refused here, not by start(). */
function checkCloneable(stage: string, options: unknown): void {
  try {
    structuredClone(options);
  } catch (error) {
    throw new InvalidOptionError(
      `stage "${stage}": its options cannot be copied to its worker threads (${(error as Error)?.message ?? String(error)}); pass plain data (objects, arrays, numbers, strings, typed arrays, SharedArrayBuffers), and import functions in the stage's module instead`,
    );
  }
}

/** Checks the shape of one declaration and fills in its defaults; the graph is checked by derive(). */
export function normalizeStage(declaration: StageDeclaration, index: number): Stage {
  const label = typeof declaration?.name === 'string' && declaration.name !== '' ? declaration.name : `#${index}`;
  checkOptions(`stage "${label}"`, declaration, STAGE_KEYS);
  if (typeof declaration.name !== 'string' || declaration.name === '') throw new InvalidOptionError(`stage ${label} needs a name (a non-empty string)`);
  const name = declaration.name;
  const retry = declaration.retry ?? {};
  checkOptions(`stage "${name}" retry`, retry, ['attempts', 'backoffMs']);
  const backoffMs = retry.backoffMs ?? 0;
  if (!(backoffMs >= 0) || !Number.isFinite(backoffMs))
    throw new InvalidOptionError(`stage "${name}": retry.backoffMs must be a number of milliseconds ≥ 0, got ${String(backoffMs)}`);
  if (declaration.export !== undefined && (typeof declaration.export !== 'string' || declaration.export === ''))
    throw new InvalidOptionError(`stage "${name}": export must be the name of the handler's export`);
  if (declaration.batchExport !== undefined && (typeof declaration.batchExport !== 'string' || declaration.batchExport === ''))
    throw new InvalidOptionError(`stage "${name}": batchExport must be the name of the batch handler's export`);
  if (declaration.recordsExport !== undefined && (typeof declaration.recordsExport !== 'string' || declaration.recordsExport === ''))
    throw new InvalidOptionError(`stage "${name}": recordsExport must be the name of the records handler's export`);
  checkCloneable(name, declaration.options);
  return {
    name,
    index,
    module: moduleSpecifier(name, declaration.module),
    exportName: declaration.export,
    batchExport: declaration.batchExport,
    recordsExport: declaration.recordsExport,
    consumes: topicList(name, 'consumes', declaration.consumes, true),
    produces: topicList(name, 'produces', declaration.produces, false),
    concurrency: concurrencyOf(name, declaration.concurrency),
    attempts: positiveInt(name, 'retry.attempts', retry.attempts, 3),
    backoffMs,
    options: declaration.options,
    capacity: declaration.capacity === undefined ? undefined : positiveInt(name, 'capacity', declaration.capacity, 0, 4096),
    batchSize: positiveInt(name, 'batchSize', declaration.batchSize, 256),
    handlerTimeoutMs: timeoutOf(name, declaration.handlerTimeoutMs),
    maxUnpublished: positiveInt(name, 'maxUnpublished', declaration.maxUnpublished, 65_536),
    resourceLimits: declaration.resourceLimits === undefined ? undefined : checkLimits(`stage "${name}" resourceLimits`, declaration.resourceLimits),
  };
}

/** Workers of one stage at most: each holds a reader slot of the stage's ring, which keeps a few of its own. */
const MAX_CONCURRENCY = MAX_READERS - 8;

function concurrencyOf(name: string, value: number | undefined): number {
  const n = positiveInt(name, 'concurrency', value, 1);
  if (n > MAX_CONCURRENCY) throw new InvalidOptionError(`stage "${name}": concurrency is at most ${MAX_CONCURRENCY} workers (one reader slot each), got ${n}`);
  return n;
}
