/**
 * What a bridge needs from an engine. The bridge core (outbound.ts, inbound.ts) keeps the
 * ringbus side: positions, ids, acknowledgements, dead letters, retries, stats. An engine
 * adapter (nats.ts, redis.ts) only moves batches of bytes; another engine is one more adapter.
 */

/** One event on its way out. */
export interface OutMessage {
  readonly topic: string;
  /** The same for the same event after any restart of the bridge: `<bridge>.<epoch>.<seq>`. */
  readonly id: string;
  /** Milliseconds since 1970 when the bridge first opened its reader on this bus. */
  readonly epoch: number;
  /** The event's position in the bus. */
  readonly seq: number;
  /** Strict MessagePack. */
  readonly payload: Uint8Array;
}

/** One event on its way in. */
export interface InMessage {
  /** The engine's stream (NATS stream, Redis key) the message came from. */
  readonly stream: string;
  /** Position in that stream; grows with every message the stream stores. */
  readonly position: bigint;
  readonly topic: string;
  readonly payload: Uint8Array;
}

export type BridgeState = 'connecting' | 'connected' | 'reconnecting' | 'closed' | 'failed';

export interface EngineOut {
  /** Largest payload the engine takes, in bytes. */
  readonly maxPayload: number;
  /**
   * Resolves once every message is stored (duplicates count as stored, and are counted in
   * the result); rejects when any may not be: the core sends the whole batch again.
   */
  publish(batch: readonly OutMessage[]): Promise<{ duplicates: number }>;
  close(): Promise<void>;
}

export interface EngineIn {
  /** Up to `max` messages in stream order, waiting up to `waitMs` for the first. Unacknowledged ones come again. */
  fetch(max: number, waitMs: number): Promise<InMessage[]>;
  /** Acknowledges messages fetched before (once they are committed in the ring). */
  ack(batch: readonly InMessage[]): Promise<void>;
  close(): Promise<void>;
}

export interface OpenRequest {
  /** The bridge's name: durable consumer, group and id prefix. */
  readonly name: string;
  readonly topics: readonly string[];
  /** Connection up or down, for stats(). */
  readonly onState: (state: BridgeState) => void;
  /**
   * Inbound: the last position applied to the ring per stream (from the progress markers),
   * for an engine whose consumer must restart right after it: a delivery lost with a crash
   * or a connection must come back before anything newer, or it would look applied.
   */
  readonly applied?: (stream: string) => bigint | undefined;
}

/** An engine's configuration; openOut/openIn connect (waiting up to its connectTimeoutMs). */
export interface Engine {
  readonly name: string;
  /** Throws BridgeTopicError for a topic the engine cannot carry. */
  checkTopic(topic: string): void;
  openOut(request: OpenRequest): Promise<EngineOut>;
  openIn(request: OpenRequest): Promise<EngineIn>;
}
