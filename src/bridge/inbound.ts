import { decode } from '@msgpack/msgpack';
import { attach, type Bus, type OutgoingEvent } from '../bus.js';
import { BusClosedError, InvalidOptionError, TimeoutError, UnknownTopicError } from '../errors.js';
import type { Pipeline, PipelineInputHandle } from '../pipeline/pipeline.js';
import type { Reader } from '../reader.js';
import type { BridgeState, Engine, EngineIn, InMessage } from './engine.js';
import { backoff, Bridge, checkName, sleep } from './shared.js';

export interface BridgeInOptions {
  /** Topics of the bus (or bridged inputs of the pipeline) to fill from the engine (each from its subject or key). */
  topics: readonly string[];
  engine: Engine;
  /** The durable consumer (NATS) or group (Redis). Default 'ringbus'. */
  name?: string;
  /**
   * Into a bus (required there; a pipeline keeps its own): a topic of the bus for this
   * bridge alone. Each batch it publishes ends with a marker there holding the last stream
   * position applied, committed with the batch, so a restarted bridge drops what it already
   * published. Readers of every topic see it: give readers `topics`.
   */
  progressTopic?: string;
  /**
   * Into a bus: a topic of the bus for messages that are not MessagePack. Without it such a
   * message stops the bridge. Into a pipeline they go to its dead-letter topic.
   */
  deadLetterTopic?: string;
  /** Messages per fetch. Default 512. */
  batchSize?: number;
}

interface Marker {
  bridge: string;
  n: number;
  positions: Record<string, string>;
}

/** One ring the bridge fills: its writer, the bridged topics it takes, and its own markers. */
interface Target {
  readonly writer: Bus;
  readonly topics: ReadonlySet<string>;
  readonly progress: Progress;
  /** Bytes of one batch and its marker, published in one claim: applied together or not at all. */
  readonly budget: number;
}

/** Where undecodable messages go: beside the events, in the same claim (a bus), or to a ring of their own (a pipeline's dead letters). */
type Letters = { inline: string } | { bus: Bus; topic: string } | undefined;

/**
 * Starts filling `topics` of `bus` from the engine, or bridged inputs of a pipeline (a
 * Pipeline, or its `inputHandle` in another thread). Resolves once connected; the bridge's
 * `done` settles when it stops (close(), the bus or pipeline closed, or a failure).
 */
export async function bridgeIn(target: Bus | Pipeline | PipelineInputHandle, options: BridgeInOptions): Promise<Bridge> {
  const name = checkName(options.name ?? 'ringbus');
  const batchSize = options.batchSize ?? 512;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidOptionError(`bridgeIn(): batchSize must be a positive integer, got ${String(batchSize)}`);
  if (!Array.isArray(options.topics) || options.topics.length === 0)
    throw new InvalidOptionError('bridgeIn(): topics must be a non-empty Array of the bus topics to fill');
  const input = 'inputHandle' in target ? target.inputHandle : 'kind' in target && target.kind === 'ringbus-pipeline-input' ? target : undefined;
  const [rings, letters, firstBus] = input === undefined ? intoBus(target as Bus, options) : intoPipeline(input, options);
  for (const topic of options.topics) options.engine.checkTopic(topic);
  if (rings.some((ring) => ring.writer.closed)) {
    throw new BusClosedError(
      `bridgeIn(): the ${input === undefined ? 'bus' : 'pipeline'} is closed, so nothing could be filled into it; open the bridge on a bus or pipeline that is open`,
    );
  }

  const bridge = new Bridge('in', options.engine.name, firstBus, null);
  const targets: Target[] = [];
  let engine: EngineIn;
  try {
    for (const ring of rings) {
      // Gating, so that the newest marker, left unconsumed on purpose, stays in the ring for a restart to find.
      const reader = ring.writer.reader<Marker>(`bridge-in:${name}`, { topics: [ring.progressTopic], wait: 'async', takeover: true });
      const progress = new Progress(name, ring.progressTopic, reader, ring.writer);
      targets.push({ writer: ring.writer, topics: ring.topics, progress, budget: ring.writer.stats().capacity / 8 });
      await progress.recover();
    }
    engine = await options.engine.openIn({
      name,
      topics: options.topics,
      onState: (s: BridgeState) => bridge.setState(s),
      applied: (stream) => appliedEverywhere(targets, stream),
    });
  } catch (error) {
    for (const t of targets) t.progress.close();
    bridge.setState('failed');
    throw error;
  }
  bridge.setState('connected');
  bridge.run(
    () => pump(engine, bridge, targets, { name, batchSize, letters }),
    async () => {
      for (const t of targets) t.progress.close();
      await engine.close();
    },
  );
  return bridge;
}

interface Ring {
  writer: Bus;
  topics: ReadonlySet<string>;
  progressTopic: string;
}

function intoBus(bus: Bus, options: BridgeInOptions): [Ring[], Letters, Bus] {
  const known = bus.handle.topics;
  if (typeof options.progressTopic !== 'string')
    throw new InvalidOptionError('bridgeIn(): a bridge into a bus needs progressTopic, a topic of the bus for its progress markers alone');
  for (const topic of [...options.topics, options.progressTopic, ...(options.deadLetterTopic === undefined ? [] : [options.deadLetterTopic])]) {
    if (!known.includes(topic)) throw new UnknownTopicError(topic, known);
  }
  if (options.topics.includes(options.progressTopic))
    throw new InvalidOptionError(`bridgeIn(): progressTopic "${options.progressTopic}" must be a topic of its own, not one of the bridged topics`);
  const writer = attach(bus.handle, { codec: 'msgpack' });
  const letters = options.deadLetterTopic === undefined ? undefined : { inline: options.deadLetterTopic };
  return [[{ writer, topics: new Set(options.topics), progressTopic: options.progressTopic }], letters, bus];
}

function intoPipeline(input: PipelineInputHandle, options: BridgeInOptions): [Ring[], Letters, Bus] {
  if (options.progressTopic !== undefined || options.deadLetterTopic !== undefined) {
    throw new InvalidOptionError(
      "bridgeIn(): a bridge into a pipeline takes neither progressTopic nor deadLetterTopic: the pipeline keeps the bridge's progress in its rings, and its dead letters go to the pipeline's dead-letter topic",
    );
  }
  const bridged = new Set(input.rings.flatMap((r) => r.topics));
  for (const topic of options.topics) {
    if (!bridged.has(topic))
      throw new InvalidOptionError(
        `bridgeIn(): "${topic}" is not a bridged input of the pipeline (bridged: [${[...bridged].join(', ')}]); declare it in createPipeline({ inputs, bridgedInputs })`,
      );
  }
  const rings = input.rings
    .map((r) => ({
      writer: attach(r.handle, { codec: input.codec }),
      topics: new Set(r.topics.filter((t) => options.topics.includes(t))),
      progressTopic: input.progressTopic,
    }))
    .filter((r) => r.topics.size > 0);
  // Dead letters of a pipeline are MessagePack, whatever its codec.
  const letters = { bus: attach(input.deadLetters.handle, { codec: 'msgpack' }), topic: input.deadLetters.topic };
  return [rings, letters, rings[0].writer];
}

/** The last position of `stream` applied to every ring (undefined while one has none): a consumer restarts after it. */
function appliedEverywhere(targets: readonly Target[], stream: string): bigint | undefined {
  let low: bigint | undefined;
  for (const t of targets) {
    const last = t.progress.last.get(stream);
    if (last === undefined) return undefined;
    if (low === undefined || last < low) low = last;
  }
  return low;
}

/** The last position applied per stream, kept in the ring beside the events. */
class Progress {
  readonly last = new Map<string, bigint>();
  private n = 0;

  constructor(
    private readonly name: string,
    readonly topic: string,
    private readonly reader: Reader<Marker>,
    private readonly writer: Bus,
  ) {}

  async recover(): Promise<void> {
    let newest: Marker | null = null;
    while (
      this.reader.poll((m) => {
        if (m.bridge === this.name && (newest === null || m.n > newest.n)) newest = m;
      }, 1024) > 0
    );
    if (newest === null) return;
    const found: Marker = newest;
    this.n = found.n;
    for (const [stream, position] of Object.entries(found.positions)) this.last.set(stream, BigInt(position));
    // Consumed while looking: put it back, so that a crash now still finds it.
    await this.writer.publishAsync(this.topic, this.marker());
    this.settle();
  }

  isNew(m: InMessage): boolean {
    const last = this.last.get(m.stream);
    return last === undefined || m.position > last;
  }

  /** The marker to publish after `applied`, which it covers. */
  next(applied: readonly InMessage[]): OutgoingEvent {
    for (const m of applied) {
      const last = this.last.get(m.stream);
      if (last === undefined || m.position > last) this.last.set(m.stream, m.position); // never back: a fetch may hold redeliveries
    }
    this.n++;
    return { topic: this.topic, value: this.marker() };
  }

  close(): void {
    this.reader.close();
  }

  /** Consumes every marker: the ring is full and the newest one holds it (other producers filled it). */
  release(): void {
    while (this.reader.poll(() => {}, 1024) > 0);
  }

  /** Consumes the markers before the newest; the newest stays for a restart to find. */
  settle(): void {
    const newest = this.n;
    const STOP = Symbol('newest');
    try {
      while (
        this.reader.poll((m) => {
          if (m.bridge === this.name && m.n >= newest) throw STOP;
        }, 1024) > 0
      );
    } catch (error) {
      if (error !== STOP) throw error;
    }
  }

  private marker(): Marker {
    const positions: Record<string, string> = {};
    for (const [stream, position] of this.last) positions[stream] = position.toString();
    return { bridge: this.name, n: this.n, positions };
  }
}

interface PumpOptions {
  name: string;
  batchSize: number;
  letters: Letters;
}

/** A fetched message decoded once, whatever rings it goes to. */
type Decoded = { value: unknown } | { reason: string };

async function pump(engine: EngineIn, bridge: Bridge, targets: readonly Target[], o: PumpOptions): Promise<void> {
  for (let attempt = 0; !bridge.stopping; ) {
    if (targets.some((t) => t.writer.stats().closed)) return;
    let messages: InMessage[];
    try {
      messages = await engine.fetch(o.batchSize, 500);
      attempt = 0;
    } catch (error) {
      bridge.counters.retries++;
      bridge.lastError = error as Error;
      if (bridge.state === 'connected') bridge.setState('reconnecting');
      await sleep(backoff(attempt++));
      continue;
    }
    if (messages.length === 0) continue;
    if (bridge.state !== 'connected') bridge.setState('connected');
    const fresh = messages.filter((m) => targets.some((t) => t.topics.has(m.topic) && t.progress.isNew(m)));
    bridge.counters.duplicates += messages.length - fresh.length;
    const decoded = new Map<InMessage, Decoded>();
    for (const m of fresh) {
      try {
        decoded.set(m, { value: decode(m.payload) });
      } catch (error) {
        if (o.letters === undefined)
          throw new InvalidOptionError(
            `bridge "${o.name}": message ${m.position} of ${m.stream} is not MessagePack (${(error as Error).message}); give the bridge a deadLetterTopic, or publish MessagePack to the engine`,
          );
        decoded.set(m, { reason: `not MessagePack: ${(error as Error).message}` });
      }
    }
    const letters = fresh.filter((m) => 'reason' in decoded.get(m)!);
    if (letters.length > 0 && o.letters !== undefined && 'bus' in o.letters) {
      // In a ring of their own, before the batch's markers: a crash in between sends them again.
      await o.letters.bus.publishBatchAsync(
        o.letters.topic,
        letters.map((m) => letter(o, m, decoded.get(m) as { reason: string })),
      );
    }
    if (fresh.length > 0)
      for (const target of targets)
        await apply(
          target,
          messages,
          fresh.filter((m) => target.topics.has(m.topic) && target.progress.isNew(m)),
          decoded,
          bridge,
          o,
        );
    bridge.counters.published += fresh.length - letters.length;
    bridge.counters.deadLetters += letters.length;
    // After the commit (publishing) in every ring: a crash before this ack gets the batch again, and the markers drop it.
    try {
      await engine.ack(messages);
    } catch (error) {
      bridge.lastError = error as Error; // redelivered later, and dropped as already applied
    }
  }
}

/**
 * Publishes a target's new messages of one fetch in claims that each end with a marker. Its
 * last marker covers the whole fetch, even where none of it was for this ring, so that every
 * ring's progress keeps up and a consumer restarted after the lowest one skips nothing.
 */
async function apply(
  target: Target,
  all: readonly InMessage[],
  mine: readonly InMessage[],
  decoded: Map<InMessage, Decoded>,
  bridge: Bridge,
  o: PumpOptions,
): Promise<void> {
  const { writer, progress, budget } = target;
  let start = 0;
  do {
    const events: OutgoingEvent[] = []; // in stream order, inline dead letters in their places
    let bytes = 0;
    let end = start;
    for (; end < mine.length && (end === start || bytes + mine[end].payload.length + 64 <= budget); end++) {
      const m = mine[end];
      bytes += m.payload.length + 64;
      const d = decoded.get(m)!;
      if ('value' in d) events.push({ topic: m.topic, value: d.value });
      else if (o.letters !== undefined && 'inline' in o.letters) events.push({ topic: o.letters.inline, value: letter(o, m, d) });
    }
    events.push(progress.next(end >= mine.length ? all : mine.slice(start, end)));
    try {
      await writer.publishEventsAsync(events, { timeoutMs: 250 });
    } catch (error) {
      if (!(error instanceof TimeoutError) || (error.published ?? 0) !== 0) throw error;
      // The ring is full behind our own newest marker: let it go (a crash before the
      // next marker lands would then apply this batch again), or we would wait for ever.
      progress.release();
      bridge.counters.markerReleases++;
      await writer.publishEventsAsync(events);
    }
    progress.settle();
    start = end;
  } while (start < mine.length);
}

function letter(o: PumpOptions, m: InMessage, d: { reason: string }) {
  return { bridge: o.name, stream: m.stream, position: m.position.toString(), topic: m.topic, reason: d.reason, bytes: m.payload.length };
}
