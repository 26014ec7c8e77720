import { describe } from './describe.js';

/** Base class of every error ringbus throws on misuse; `code` is stable for programs. */
export class RingbusError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An option is out of range: the message names it and the accepted values. */
export class InvalidOptionError extends RingbusError {
  constructor(message: string) {
    super('ERR_RINGBUS_OPTION', message);
  }
}

/** A record (or batch) larger than the ring accepts. */
export class RecordTooLargeError extends RingbusError {
  constructor(
    readonly size: number,
    readonly maxSize: number,
  ) {
    super(
      'ERR_RINGBUS_TOO_LARGE',
      `record of ${size} bytes exceeds the largest payload this bus accepts (${maxSize} bytes, a quarter of the capacity less the record header); create the bus with a larger capacity or split the value`,
    );
  }
}

/** The codec could not encode a value; `cause` holds the codec's own error. */
export class EncodeError extends RingbusError {
  constructor(codec: string, detail: string, options?: { cause?: unknown }) {
    super('ERR_RINGBUS_ENCODE', `codec "${codec}" cannot encode this value: ${detail}; convert it to a supported type or choose another codec`);
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** A record arrived in a codec this reader was not given. */
export class DecodeError extends RingbusError {
  /** Where the reader found it, when it was a record of the ring: it has been consumed, so the next read goes on after it. */
  readonly record?: { readonly seq: number; readonly topic: string; readonly codec: number; readonly bytes: Uint8Array };
  constructor(message: string, record?: DecodeError['record'], options?: { cause?: unknown }) {
    super('ERR_RINGBUS_DECODE', message);
    if (record !== undefined) this.record = record;
    if (options?.cause !== undefined) (this as { cause?: unknown }).cause = options.cause;
  }
}

export class UnknownTopicError extends RingbusError {
  constructor(topic: unknown, known: readonly string[]) {
    super(
      'ERR_RINGBUS_TOPIC',
      typeof topic === 'string'
        ? `unknown topic "${topic}"; this bus was created with topics [${known.join(', ')}]: declare it in createBus({ topics })`
        : `a topic is named by a string, got ${describe(topic)}; this bus was created with topics [${known.join(', ')}]`,
    );
  }
}

export class UnknownReaderError extends RingbusError {
  /** `dependent`: the reader that comes after it, when it was unsubscribed after that reader opened; `group`: it was a group. */
  constructor(name: string, dependent?: string, group = false) {
    const create = group
      ? `open a member of group "${name}" again with bus.reader(member, { group: "${name}" })`
      : `create "${name}" again with bus.reader("${name}")`;
    super(
      'ERR_RINGBUS_READER',
      dependent === undefined
        ? `unknown reader "${name}"; create it with bus.reader("${name}") before a reader depends on it`
        : `reader "${dependent}" comes after ${group ? 'group' : 'reader'} "${name}", which no longer exists (unsubscribed): "${dependent}" would wait for it for ever; ${create}, or reopen "${dependent}" without it in after`,
    );
  }
}

/** The reader slot is held by another live Reader object. */
export class ReaderBusyError extends RingbusError {
  constructor(name: string) {
    super('ERR_RINGBUS_READER_BUSY', `reader "${name}" is already open; close it first, or pass { takeover: true } to replace a reader whose thread died`);
  }
}

export class TooManyReadersError extends RingbusError {
  constructor(max: number) {
    super('ERR_RINGBUS_READERS', `all ${max} reader slots are in use; unsubscribe readers you no longer need or create the bus with a larger maxReaders`);
  }
}

export class BusClosedError extends RingbusError {
  constructor(message = 'the bus is closed: nothing can be published after close(); create a new bus') {
    super('ERR_RINGBUS_CLOSED', message);
  }
}

/** A handle from another ringbus layout version, or not a handle at all. */
export class IncompatibleHandleError extends RingbusError {
  constructor(message: string) {
    super('ERR_RINGBUS_HANDLE', message);
  }
}

/** A Reader used after close() or unsubscribe(). */
export class ReaderClosedError extends RingbusError {
  constructor(name: string) {
    super('ERR_RINGBUS_READER_CLOSED', `reader "${name}" is closed; open it again with bus.reader("${name}")`);
  }
}

/**
 * A Reader called from inside its own delivery: from a poll/pollRaw/take handler (or a
 * codec's decode during read()), or while a for await loop over it is running. Reading
 * there would hand out the events under delivery a second time.
 */
export class ReentrantReadError extends RingbusError {
  constructor(name: string, call: string, running: string) {
    const where =
      running === 'for await'
        ? 'a for await loop over it is running (leave the loop first)'
        : `its ${running}() is delivering events (return from the handler first)`;
    super(
      'ERR_RINGBUS_REENTRANT',
      `reader "${name}": ${call} called while ${where}; one call reads a reader at a time: open a second reader for a second consumer`,
    );
  }
}

/** A wait reached its timeout. */
export class TimeoutError extends RingbusError {
  /**
   * Batch forms only (publishBatch, publishEvents and their Async forms): how many events,
   * from the start of the batch, were published before the timeout. The rest were not.
   */
  readonly published?: number;
  constructor(
    what: string,
    readonly ms: number,
    batch?: { published: number; total: number },
    /** What may have held it up, where known. */
    why?: string,
  ) {
    super(
      'ERR_RINGBUS_TIMEOUT',
      batch === undefined
        ? `${what} did not complete within ${ms} ms${why === undefined ? '' : `: ${why}`}`
        : `${what} did not complete within ${ms} ms: the first ${batch.published} of its ${batch.total} events were published, the rest were not (err.published); publish the rest again, or wait longer`,
    );
    if (batch !== undefined) this.published = batch.published;
  }
}

/**
 * An async batch publish aborted by its signal after part of it went out: `published` events,
 * from the start of the batch, were published and the rest were not. `cause` is the signal's
 * reason. (Aborted before anything went out, the call rejects with the reason itself.)
 */
export class BatchAbortedError extends RingbusError {
  constructor(
    what: string,
    readonly published: number,
    readonly total: number,
    reason: unknown,
  ) {
    super(
      'ERR_RINGBUS_BATCH_ABORTED',
      `${what} was aborted: the first ${published} of its ${total} events were published, the rest were not (err.published; the signal's reason is err.cause); publish the rest again if you still want them`,
    );
    (this as { cause?: unknown }).cause = reason;
  }
}

/** commit() of a claim that is no longer open: it was aborted, or already committed. */
export class ClaimClosedError extends RingbusError {
  constructor(state: 'aborted' | 'committed') {
    super('ERR_RINGBUS_CLAIM_CLOSED', `the claim was already ${state}; claim again with bus.claim() to publish more`);
  }
}

/** A thread holds as many open claims on one ring as its producer slot lists. */
export class TooManyClaimsError extends RingbusError {
  constructor(max: number) {
    super('ERR_RINGBUS_TOO_MANY_CLAIMS', `this thread already holds ${max} open claims on this bus; commit() or abort() one before claiming again`);
  }
}

/** More threads publish on one ring than its producer table holds. */
export class TooManyProducersError extends RingbusError {
  constructor(max: number) {
    super(
      'ERR_RINGBUS_TOO_MANY_PRODUCERS',
      `${max} threads already publish on this bus; publish from fewer threads (a thread's slot is freed when the thread ends)`,
    );
  }
}

/** A publish would wait for space behind this thread's own open claim: it would wait for ever. */
export class ClaimDeadlockError extends RingbusError {
  constructor(what: string) {
    super(
      'ERR_RINGBUS_CLAIM_DEADLOCK',
      `${what} waits for space that only this thread's own open claim can free; commit() or abort() the claim before publishing more`,
    );
  }
}

/** A sync publish (or claim) while this thread's async publishes on the bus still wait for space: it would overtake them. */
export class PublishOrderError extends RingbusError {
  constructor(what: string, waiting: number) {
    super(
      'ERR_RINGBUS_PUBLISH_ORDER',
      `${what} would overtake ${waiting} async publish${waiting === 1 ? '' : 'es'} of this thread still waiting for space in the ring (a thread's publishes keep their call order); await them first, or publish this one with publishAsync() too, which queues behind them`,
    );
  }
}

/** Two stages of a pipeline share a name. */
export class DuplicateStageError extends RingbusError {
  constructor(name: string) {
    super('ERR_RINGBUS_DUPLICATE_STAGE', `two stages are named "${name}"; stage names must be unique, since readers, stats and errors refer to stages by name`);
  }
}

/** A stage consumes a topic that no stage produces and that is not a declared input. */
export class UnproducedTopicError extends RingbusError {
  constructor(
    readonly topic: string,
    readonly stages: readonly string[],
  ) {
    super(
      'ERR_RINGBUS_UNPRODUCED_TOPIC',
      `stage${stages.length > 1 ? 's' : ''} ${stages.map((s) => `"${s}"`).join(', ')} consume${stages.length > 1 ? '' : 's'} topic "${topic}", which no stage produces; declare it in { inputs: ["${topic}"] } if it comes from outside the pipeline, or add it to a stage's produces`,
    );
  }
}

/** The first few names of a list, quoted, and how many more. */
function someNames(names: readonly string[]): string {
  const shown = names
    .slice(0, 8)
    .map((s) => `"${s}"`)
    .join(', ');
  return names.length > 8 ? `${shown} and ${names.length - 8} more` : shown;
}

/** A declared output that no stage produces: nothing would ever come out of it. */
export class UnproducedOutputError extends RingbusError {
  constructor(
    readonly topic: string,
    readonly stages: readonly string[],
  ) {
    super(
      'ERR_RINGBUS_UNPRODUCED_OUTPUT',
      `output topic "${topic}" is produced by no stage, so nothing would come out of it; add it to the produces of the stage that emits it (stages: ${someNames(stages)}), or remove it from outputs`,
    );
  }
}

/** A declared input that no stage consumes: what is published into it would reach nobody. */
export class UnconsumedInputError extends RingbusError {
  constructor(
    readonly topic: string,
    readonly stages: readonly string[],
  ) {
    super(
      'ERR_RINGBUS_UNCONSUMED_INPUT',
      `input topic "${topic}" is consumed by no stage, so its events would reach nobody; add it to the consumes of the stage that should handle it (stages: ${someNames(stages)}), or remove it from inputs`,
    );
  }
}

/** A stage's module did not load, or exports no handler function. */
export class StageLoadError extends RingbusError {
  constructor(
    readonly stage: string,
    detail: string,
  ) {
    super('ERR_RINGBUS_STAGE_LOAD', `stage "${stage}": ${detail}`);
  }
}

/** A pipeline call that its lifecycle state does not allow (publishing before start(), starting twice, anything after close()). */
export class PipelineStateError extends RingbusError {
  constructor(message: string) {
    super('ERR_RINGBUS_PIPELINE_STATE', message);
  }
}

/** A handler emitted into a topic its stage does not declare in `produces`. */
export class UndeclaredTopicError extends RingbusError {
  constructor(stage: string, topic: string, produces: readonly string[]) {
    super(
      'ERR_RINGBUS_UNDECLARED_TOPIC',
      `stage "${stage}" emitted into "${topic}", which it does not declare; add "${topic}" to its produces (it produces [${produces.join(', ')}])`,
    );
  }
}

/** The events waiting to re-enter a feedback loop outgrew the pipeline's maxSpill. */
export class SpillOverflowError extends RingbusError {
  constructor(max: number) {
    super(
      'ERR_RINGBUS_SPILL',
      `more than ${max} events are waiting to re-enter a feedback loop: the loop produces faster than it consumes; give its stages larger rings (capacity) or raise maxSpill`,
    );
  }
}

/** What a dead letter's `error` says (its `name`) for an event whose handler killed its worker on every attempt. */
export class WorkerDiedError extends RingbusError {
  constructor(message: string) {
    super('ERR_RINGBUS_WORKER_DIED', message);
  }
}

/** What a dead letter's `error` says (its `name`) for an event whose handler ran past the stage's `handlerTimeoutMs` on its last attempt. */
export class HandlerTimeoutError extends RingbusError {
  constructor(message: string) {
    super('ERR_RINGBUS_HANDLER_TIMEOUT', message);
  }
}

/** A bridge's engine could not be reached within `connectTimeoutMs`. */
export class BridgeUnreachableError extends RingbusError {
  constructor(engine: string, servers: string, waitedMs: number) {
    super(
      'ERR_RINGBUS_BRIDGE_UNREACHABLE',
      `${engine} at ${servers} did not answer within ${waitedMs} ms; start the server, check the URL and port, or raise connectTimeoutMs (a bridge that is already running waits for the server for ever)`,
    );
  }
}

/** The engine refused the stream, consumer or group configuration a bridge asked for. */
export class BridgeConfigError extends RingbusError {
  constructor(engine: string, detail: string) {
    super('ERR_RINGBUS_BRIDGE_CONFIG', `${engine} refused the bridge's configuration: ${detail}`);
  }
}

/** A topic whose name the engine cannot carry (NATS subjects refuse spaces, '*', '>' and empty tokens). */
export class BridgeTopicError extends RingbusError {
  constructor(engine: string, topic: string, detail: string) {
    super(
      'ERR_RINGBUS_BRIDGE_TOPIC',
      `topic ${JSON.stringify(topic)} cannot cross to ${engine}: ${detail}; rename the topic or map it with the engine's subjectOf option`,
    );
  }
}

/** An event larger than the engine accepts, on a bridge without a dead-letter topic. */
export class BridgeMessageTooLargeError extends RingbusError {
  constructor(engine: string, topic: string, seq: number, size: number, maxSize: number) {
    super(
      'ERR_RINGBUS_BRIDGE_TOO_LARGE',
      `event ${seq} of topic "${topic}" is ${size} bytes as MessagePack, more than ${engine} accepts (${maxSize} bytes); give the bridge a deadLetterTopic to set such events aside, or raise the server's limit`,
    );
  }
}

/** A publish key that is neither a string nor a safe integer. */
export class InvalidKeyError extends RingbusError {
  constructor(what: string, key: unknown) {
    super(
      'ERR_RINGBUS_KEY',
      `${what}: a key must be a string or an integer number (a safe integer), got ${describeKey(key)}; turn it into one of these (e.g. String(id))`,
    );
  }
}

/** A keyed consumer group could not be opened: every keyed group block, or every member entry of the group, is in use. */
export class KeyedGroupLimitError extends RingbusError {
  constructor(message: string) {
    super('ERR_RINGBUS_KEYED_LIMIT', message);
  }
}

function describeKey(key: unknown): string {
  if (typeof key === 'number') return `the number ${key}`;
  if (typeof key === 'bigint') return `the bigint ${key}n`;
  if (key === null) return 'null';
  return typeof key === 'object' ? `an object (${Object.prototype.toString.call(key)})` : typeof key;
}
