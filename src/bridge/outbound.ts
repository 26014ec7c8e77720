import { encode } from '@msgpack/msgpack';
import type { Bus } from '../bus.js';
import { BridgeMessageTooLargeError, InvalidOptionError, UnknownTopicError } from '../errors.js';
import type { Pipeline } from '../pipeline/pipeline.js';
import type { Reader } from '../reader.js';
import type { BridgeState, Engine, EngineOut, OutMessage } from './engine.js';
import { backoff, Bridge, checkName, sleep } from './shared.js';

export interface BridgeOutOptions {
  /** Topics of the bus to send. */
  topics: readonly string[];
  engine: Engine;
  /** Names the durable reader (`bridge-out:<name>@<epoch>`) and prefixes every message id. Default 'ringbus'. */
  name?: string;
  /** A topic of the bus for events the engine cannot take (too large, not MessagePack-encodable). Without it such an event stops the bridge. */
  deadLetterTopic?: string;
  /** Events per batch: one ring read, one round of publishes, one cursor commit. Default 512. */
  batchSize?: number;
}

/** What the bridge writes to its dead-letter topic. */
export interface BridgeDeadLetter {
  bridge: string;
  topic: string;
  seq: number;
  reason: string;
  bytes: number;
}

const READER_PREFIX = 'bridge-out:';

/**
 * Starts sending `topics` of `bus` (or outputs of a pipeline: its output ring) to the engine.
 * Resolves once connected and reading; the returned bridge's `done` settles when it stops
 * (close(), the bus or pipeline closed and read to its end, or a failure).
 */
export async function bridgeOut(source: Bus | Pipeline, options: BridgeOutOptions): Promise<Bridge> {
  const bus = 'output' in source ? outputsOf(source, options.topics) : source;
  const name = checkName(options.name ?? 'ringbus');
  const batchSize = options.batchSize ?? 512;
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new InvalidOptionError(`bridgeOut(): batchSize must be a positive integer, got ${String(batchSize)}`);
  if (!Array.isArray(options.topics) || options.topics.length === 0)
    throw new InvalidOptionError('bridgeOut(): topics must be a non-empty Array of the bus topics to send');
  const known = bus.handle.topics;
  for (const topic of options.topics) {
    if (!known.includes(topic)) throw new UnknownTopicError(topic, known);
    options.engine.checkTopic(topic);
  }
  const deadLetterTopic = options.deadLetterTopic;
  if (deadLetterTopic !== undefined && !known.includes(deadLetterTopic)) throw new UnknownTopicError(deadLetterTopic, known);

  const [readerName, epoch] = readerFor(bus, name);
  const bridge = new Bridge('out', options.engine.name, bus, readerName);
  // The reader first: events published from now on wait for the bridge, even while it connects.
  const reader = bus.reader(readerName, { topics: options.topics, wait: 'async', takeover: true });
  let engine: EngineOut;
  try {
    engine = await options.engine.openOut({ name, topics: options.topics, onState: (state: BridgeState) => bridge.setState(state) });
  } catch (error) {
    reader.close();
    bridge.setState('failed');
    throw error;
  }
  bridge.setState('connected');
  bridge.run(
    () => pump(bus, reader, engine, bridge, { name, epoch, batchSize, deadLetterTopic }),
    () => {
      reader.close();
      return engine.close();
    },
  );
  return bridge;
}

function outputsOf(pipeline: Pipeline, topics: unknown): Bus {
  if (Array.isArray(topics)) {
    const outputs = pipeline.topology.topics.filter((t) => t.output).map((t) => t.name);
    for (const topic of topics) {
      if (!outputs.includes(topic))
        throw new InvalidOptionError(
          `bridgeOut(): "${String(topic)}" is not an output of the pipeline (outputs: [${outputs.join(', ')}]); declare it in createPipeline({ outputs })`,
        );
    }
  }
  return pipeline.output;
}

/** Finds this bridge's reader, whose name carries the epoch of its ids, or names a new one. */
function readerFor(bus: Bus, name: string): [string, number] {
  const prefix = `${READER_PREFIX}${name}@`;
  for (const row of bus.stats().readers) {
    if (row.name.startsWith(prefix)) return [row.name, Number(row.name.slice(prefix.length))];
  }
  // A later bus (a restarted process) gets a later epoch, so its ids never collide with an
  // earlier bus's still in the engine's duplicate window, and Redis ids keep growing.
  const epoch = Date.now();
  return [`${prefix}${epoch}`, epoch];
}

interface PumpOptions {
  name: string;
  epoch: number;
  batchSize: number;
  deadLetterTopic: string | undefined;
}

async function pump(bus: Bus, reader: Reader, engine: EngineOut, bridge: Bridge, o: PumpOptions): Promise<void> {
  while (!bridge.stopping) {
    const events = reader.read(o.batchSize);
    if (events.length === 0) {
      if (reader.ended) return;
      await reader.waitAsync(200);
      continue;
    }
    const batch: OutMessage[] = [];
    const letters: BridgeDeadLetter[] = [];
    for (const { topic, seq, value } of events) {
      let payload: Uint8Array;
      try {
        payload = encode(value);
      } catch (error) {
        letters.push(letter(o, topic, seq, `not MessagePack-encodable: ${(error as Error).message}`, 0));
        continue;
      }
      if (payload.length > engine.maxPayload) {
        if (o.deadLetterTopic === undefined) throw new BridgeMessageTooLargeError(bridge.engine, topic, seq, payload.length, engine.maxPayload);
        letters.push(letter(o, topic, seq, `${payload.length} bytes, more than the engine's ${engine.maxPayload}`, payload.length));
        continue;
      }
      batch.push({ topic, seq, epoch: o.epoch, id: `${o.name}.${o.epoch}.${seq}`, payload });
    }
    if (letters.length > 0 && o.deadLetterTopic === undefined) {
      throw new InvalidOptionError(
        `bridge "${o.name}": ${letters[0].reason} (event ${letters[0].seq} of "${letters[0].topic}"); give the bridge a deadLetterTopic or publish MessagePack-encodable values`,
      );
    }
    for (let attempt = 0; batch.length > 0; attempt++) {
      try {
        const { duplicates } = await engine.publish(batch);
        bridge.counters.published += batch.length - duplicates;
        bridge.counters.duplicates += duplicates;
        if (bridge.state !== 'connected') bridge.setState('connected');
        break;
      } catch (error) {
        // The engine is away (or refused for a while): the same batch again, with the same
        // ids, until it is stored; the uncommitted reader holds the producers back meanwhile.
        bridge.counters.retries++;
        bridge.lastError = error as Error;
        if (bridge.state === 'connected') bridge.setState('reconnecting');
        if (bridge.stopping) return; // uncommitted: the next start sends the batch again
        await sleep(backoff(attempt));
      }
    }
    // The cursor is committed only once every event of the batch is stored: after a crash the bridge sends
    // them again from here, and the engine drops the ones it has.
    reader.commit();
    if (letters.length > 0) {
      // After the cursor commit: publishing into a full ring that our own uncommitted batch gates would wait for ever.
      await bus.publishBatchAsync(o.deadLetterTopic!, letters);
      bridge.counters.deadLetters += letters.length;
    }
  }
}

function letter(o: PumpOptions, topic: string, seq: number, reason: string, bytes: number): BridgeDeadLetter {
  return { bridge: o.name, topic, seq, reason, bytes };
}
