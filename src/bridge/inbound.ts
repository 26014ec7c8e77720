import { decode } from '@msgpack/msgpack';
import { attach, type Bus, type OutgoingEvent } from '../bus.js';
import { InvalidOptionError, TimeoutError, UnknownTopicError } from '../errors.js';
import type { Reader } from '../reader.js';
import type { BridgeState, Engine, EngineIn, InMessage } from './engine.js';
import { backoff, Bridge, checkName, sleep } from './shared.js';

export interface BridgeInOptions {
  /** Topics of the bus to fill from the engine (each from its subject or key). */
  topics: readonly string[];
  engine: Engine;
  /** The durable consumer (NATS) or group (Redis). Default 'ringbus'. */
  name?: string;
  /**
   * A topic of the bus for this bridge alone: each batch it publishes ends with a marker
   * there holding the last stream position applied, committed with the batch, so a
   * restarted bridge drops what it already published. Readers of every topic see it:
   * give readers `topics`.
   */
  progressTopic: string;
  /** A topic of the bus for messages that are not MessagePack. Without it such a message stops the bridge. */
  deadLetterTopic?: string;
  /** Messages per fetch. Default 512. */
  batchSize?: number;
}

interface Marker {
  bridge: string;
  n: number;
  positions: Record<string, string>;
}

/**
 * Starts filling `topics` of `bus` from the engine. Resolves once connected; the bridge's
 * `done` settles when it stops (close(), the bus closed, or a failure).
 */
export async function bridgeIn(bus: Bus, options: BridgeInOptions): Promise<Bridge> {
  const name = checkName(options.name ?? 'ringbus');
  const batchSize = options.batchSize ?? 512;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new InvalidOptionError(`bridgeIn(): batchSize must be a positive integer, got ${String(batchSize)}`);
  if (!Array.isArray(options.topics) || options.topics.length === 0) throw new InvalidOptionError('bridgeIn(): topics must be a non-empty Array of the bus topics to fill');
  const known = bus.handle.topics;
  for (const topic of [...options.topics, options.progressTopic, ...(options.deadLetterTopic === undefined ? [] : [options.deadLetterTopic])]) {
    if (!known.includes(topic)) throw new UnknownTopicError(topic, known);
  }
  if (options.topics.includes(options.progressTopic)) throw new InvalidOptionError(`bridgeIn(): progressTopic "${options.progressTopic}" must be a topic of its own, not one of the bridged topics`);
  for (const topic of options.topics) options.engine.checkTopic(topic);

  const bridge = new Bridge('in', options.engine.name, bus, null);
  // Gating, so that the newest marker, left unconsumed on purpose, stays in the ring for a restart to find.
  const progress = bus.reader<Marker>(`bridge-in:${name}`, { topics: [options.progressTopic], wait: 'async', takeover: true });
  const writer = attach(bus.handle, { codec: 'msgpack' });
  const state = new Progress(name, options.progressTopic, progress, writer);
  let engine: EngineIn;
  try {
    await state.recover();
    engine = await options.engine.openIn({
      name,
      topics: options.topics,
      onState: (s: BridgeState) => bridge.setState(s),
      applied: (stream) => state.last.get(stream),
    });
  } catch (error) {
    progress.close();
    bridge.setState('failed');
    throw error;
  }
  bridge.setState('connected');
  const budget = bus.stats().capacity / 8; // one batch and its marker in one claim: applied together or not at all
  bridge.run(() => pump(writer, engine, bridge, state, { name, batchSize, budget, deadLetterTopic: options.deadLetterTopic }), async () => {
    progress.close();
    await engine.close();
  });
  return bridge;
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
    while (this.reader.poll((m) => {
      if (m.bridge === this.name && (newest === null || m.n > newest.n)) newest = m;
    }, 1024) > 0);
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
    for (const m of applied) this.last.set(m.stream, m.position);
    this.n++;
    return { topic: this.topic, value: this.marker() };
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
      while (this.reader.poll((m) => {
        if (m.bridge === this.name && m.n >= newest) throw STOP;
      }, 1024) > 0);
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
  budget: number;
  deadLetterTopic: string | undefined;
}

async function pump(writer: Bus, engine: EngineIn, bridge: Bridge, progress: Progress, o: PumpOptions): Promise<void> {
  const bus = writer;
  for (let attempt = 0; !bridge.stopping; ) {
    if (bus.stats().closed) return;
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
    const fresh = messages.filter((m) => progress.isNew(m));
    bridge.counters.duplicates += messages.length - fresh.length;
    let start = 0;
    while (start < fresh.length) {
      const events: OutgoingEvent[] = []; // in stream order, dead letters in their places
      let letters = 0;
      let bytes = 0;
      let end = start;
      for (; end < fresh.length && (end === start || bytes + fresh[end].payload.length + 64 <= o.budget); end++) {
        const m = fresh[end];
        bytes += m.payload.length + 64;
        try {
          events.push({ topic: m.topic, value: decode(m.payload) });
        } catch (error) {
          if (o.deadLetterTopic === undefined) throw new InvalidOptionError(`bridge "${o.name}": message ${m.position} of ${m.stream} is not MessagePack (${(error as Error).message}); give the bridge a deadLetterTopic, or publish MessagePack to the engine`);
          letters++;
          events.push({ topic: o.deadLetterTopic, value: { bridge: o.name, stream: m.stream, position: m.position.toString(), topic: m.topic, reason: `not MessagePack: ${(error as Error).message}`, bytes: m.payload.length } });
        }
      }
      events.push(progress.next(fresh.slice(start, end)));
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
      bridge.counters.published += events.length - 1 - letters;
      bridge.counters.deadLetters += letters;
      start = end;
    }
    // After the commit in the ring: a crash before this ack gets the batch again, and the marker drops it.
    try {
      await engine.ack(messages);
    } catch (error) {
      bridge.lastError = error as Error; // redelivered later, and dropped as already applied
    }
  }
}
