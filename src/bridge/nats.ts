/**
 * `ringbus/nats`: bridges between ringbus topics and a NATS JetStream stream. Needs the
 * optional peer dependencies `@nats-io/transport-node` and `@nats-io/jetstream`.
 */
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamClient,
  type JetStreamManager,
  type Consumer,
  type JsMsg,
  type StreamConfig,
} from '@nats-io/jetstream';
import { connect, createInbox, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { BridgeConfigError, BridgeTopicError, BridgeUnreachableError, InvalidOptionError } from '../errors.js';
import type { Engine, EngineIn, EngineOut, InMessage, OpenRequest, OutMessage } from './engine.js';
import { within } from './shared.js';

export { bridgeIn, type BridgeInOptions } from './inbound.js';
export { bridgeOut, type BridgeDeadLetter, type BridgeOutOptions } from './outbound.js';
export type { Bridge, BridgeStats } from './shared.js';
export type { BridgeState, Engine, EngineIn, EngineOut, InMessage, OutMessage } from './engine.js';

export interface NatsEngineOptions {
  /** 'nats://host:port' or several. */
  servers: string | readonly string[];
  /** The JetStream stream; created with `streamConfig` when missing. */
  stream: string;
  /** Topic `t` travels on subject `<subjectPrefix>.t`; the stream takes `<subjectPrefix>.>`. Default 'ringbus'. */
  subjectPrefix?: string;
  /** How long the first connection may take before BridgeUnreachableError. Default 30,000 ms; once connected a bridge waits for the server for ever. */
  connectTimeoutMs?: number;
  /** Limits of a stream the bridge creates. */
  streamConfig?: {
    maxAgeMs?: number;
    maxBytes?: number;
    maxMsgs?: number;
    /** How long JetStream remembers message ids to drop duplicates: a crashed bridge must be back within it. Default 120,000 ms. */
    duplicateWindowMs?: number;
    storage?: 'file' | 'memory';
  };
  /** Inbound: how long JetStream waits for an ack before it redelivers. Default 30,000 ms. */
  ackWaitMs?: number;
  /** How long one publish may wait for JetStream's answer before the batch is sent again. Default 5,000 ms. */
  publishTimeoutMs?: number;
}

const NS = 1_000_000;
// biome-ignore lint/suspicious/noControlCharactersInRegex: NATS tokens exclude control characters
const TOKEN = /^[^\s*>.\u0000-\u001f]+$/;

interface Feed {
  readonly queue: JsMsg[];
  /** The consumer's next delivery sequence: the consumer is new, so it starts at 1. */
  expected: number;
  /** The queue was taken from. */
  taken(): void;
  error: Error | null;
  /** Resolves when a message arrives, or after `ms`. */
  next(ms: number): Promise<void>;
  stop(): void;
}

/** Messages of a consumer as they arrive, queued in stream order. */
function follow(consumer: Consumer): Feed {
  let wake = () => {};
  let resume = () => {};
  let stopped = false;
  let stop = () => {
    stopped = true;
  };
  const feed: Feed = {
    queue: [],
    expected: 1,
    error: null,
    next: (ms) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      }),
    stop: () => {
      stop();
      resume();
    },
    taken: () => resume(),
  };
  void (async () => {
    const messages = await consumer.consume({ max_messages: 1024 });
    if (stopped) return void messages.stop();
    stop = () => void messages.stop();
    for await (const msg of messages) {
      feed.queue.push(msg);
      wake();
      // Not taking from the iterator holds the client's pulls back: the queue stays bounded.
      if (feed.queue.length >= 2048) await new Promise<void>((resolve) => (resume = resolve));
    }
  })().catch((error: Error) => {
    feed.error = error;
    wake();
  });
  return feed;
}

export function natsEngine(options: NatsEngineOptions): Engine {
  const servers = typeof options.servers === 'string' ? [options.servers] : [...(options.servers ?? [])];
  if (servers.length === 0 || servers.some((s) => typeof s !== 'string' || (!/^(nats|tls):\/\/[^\s/]+$/.test(s) && !/^[^\s/:]+:\d+$/.test(s)))) {
    throw new InvalidOptionError(`natsEngine(): servers are 'nats://host:port' strings, got ${JSON.stringify(options.servers)}`);
  }
  if (typeof options.stream !== 'string' || !/^[A-Za-z0-9_-]{1,255}$/.test(options.stream)) {
    throw new InvalidOptionError(`natsEngine(): stream must be a JetStream stream name (letters, digits, '_', '-'), got ${JSON.stringify(options.stream)}`);
  }
  const prefix = options.subjectPrefix ?? 'ringbus';
  if (!prefix.split('.').every((t) => TOKEN.test(t)))
    throw new InvalidOptionError(
      `natsEngine(): subjectPrefix ${JSON.stringify(prefix)} is not a NATS subject (tokens without spaces, '*' or '>', joined by '.')`,
    );
  const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  const subject = (topic: string) => `${prefix}.${topic}`;
  const engine = 'NATS JetStream';

  async function open(request: OpenRequest): Promise<{ nc: NatsConnection; js: JetStreamClient; jsm: JetStreamManager }> {
    const pending = connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 200, waitOnFirstConnect: true, name: `ringbus-bridge-${request.name}` });
    const nc = await within(pending, connectTimeoutMs);
    if (nc === undefined) {
      pending.then(
        (late) => late.close(),
        () => {},
      );
      throw new BridgeUnreachableError(engine, servers.join(', '), connectTimeoutMs);
    }
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnecting') request.onState('reconnecting');
        else if (s.type === 'reconnect') request.onState('connected');
      }
    })().catch(() => {});
    try {
      const jsm = await jetstreamManager(nc);
      await ensureStream(jsm);
      return { nc, js: jetstream(nc), jsm };
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  async function ensureStream(jsm: JetStreamManager): Promise<void> {
    try {
      await jsm.streams.info(options.stream);
      return;
    } catch (error) {
      if ((error as Error).name !== 'StreamNotFoundError' && !/stream not found/i.test((error as Error).message)) throw configError(error);
    }
    const c = options.streamConfig ?? {};
    const config: Partial<StreamConfig> & { name: string } = {
      name: options.stream,
      subjects: [`${prefix}.>`],
      storage: (c.storage ?? 'file') as StreamConfig['storage'],
      duplicate_window: (c.duplicateWindowMs ?? 120_000) * NS,
    };
    if (c.maxAgeMs !== undefined) config.max_age = c.maxAgeMs * NS;
    if (c.maxBytes !== undefined) config.max_bytes = c.maxBytes;
    if (c.maxMsgs !== undefined) config.max_msgs = c.maxMsgs;
    try {
      await jsm.streams.add(config);
    } catch (error) {
      throw configError(error);
    }
  }

  const configError = (error: unknown) =>
    new BridgeConfigError(
      engine,
      `stream "${options.stream}": ${(error as Error).message}; fix streamConfig, or create the stream yourself with subjects "${prefix}.>"`,
    );

  return {
    name: engine,
    checkTopic(topic: string): void {
      if (!topic.split('.').every((t) => TOKEN.test(t))) {
        throw new BridgeTopicError(engine, topic, `a NATS subject token cannot be empty or hold spaces, control characters, '*' or '>'`);
      }
    },

    async openOut(request: OpenRequest): Promise<EngineOut> {
      const { nc } = await open(request);
      const timeout = options.publishTimeoutMs ?? 5_000;
      // Asynchronous publishes: one reply subject per message under one inbox, one
      // subscription for every acknowledgement, instead of a request (and a timer) each.
      const inbox = createInbox();
      let batchNo = 0;
      let waiting: { batch: number; left: number; duplicates: number; settle: (error: Error | null) => void } | null = null;
      nc.subscribe(`${inbox}.>`, {
        callback: (_error, msg: Msg) => {
          const w = waiting;
          const [batch] = msg.subject.slice(inbox.length + 1).split('.');
          if (w === null || Number(batch) !== w.batch) return; // a late answer to a batch already given up
          let ack: { duplicate?: boolean; error?: { description?: string; code?: number } };
          try {
            ack = msg.json();
          } catch {
            ack = { error: { description: `an answer that is not JSON (${msg.headers?.code ?? ''} ${msg.headers?.description ?? ''})` } };
          }
          if (ack.error !== undefined) return w.settle(new Error(`JetStream refused a message: ${ack.error.description ?? JSON.stringify(ack.error)}`));
          if (ack.duplicate) w.duplicates++;
          if (--w.left === 0) w.settle(null);
        },
      });
      return {
        maxPayload: nc.info?.max_payload ?? 1 << 20,
        async publish(batch: readonly OutMessage[]) {
          const no = ++batchNo;
          const done = new Promise<number>((resolve, reject) => {
            const timer = setTimeout(
              () => w.settle(new Error(`JetStream stored ${batch.length - w.left} of ${batch.length} messages within ${timeout} ms`)),
              timeout,
            );
            const w = {
              batch: no,
              left: batch.length,
              duplicates: 0,
              settle(error: Error | null) {
                clearTimeout(timer);
                waiting = null;
                if (error === null) resolve(w.duplicates);
                else reject(error);
              },
            };
            waiting = w;
          });
          // One connection, in order: the server stores a prefix of the batch at worst, never a hole.
          try {
            for (let i = 0; i < batch.length; i++) {
              const m = batch[i];
              const h = headers();
              h.set('Nats-Msg-Id', m.id);
              nc.publish(subject(m.topic), m.payload, { reply: `${inbox}.${no}.${i}`, headers: h });
            }
          } catch (error) {
            (waiting as { settle(e: Error): void } | null)?.settle(error as Error);
          }
          return { duplicates: await done };
        },
        close: () => nc.close(),
      };
    },

    async openIn(request: OpenRequest): Promise<EngineIn> {
      const { nc, js, jsm } = await open(request);
      const topics = new Set(request.topics);
      // The durable consumer restarts right after the last position applied to the ring, at
      // the start and after every reconnection: a delivery lost with a crash or a connection
      // would otherwise come back only after ack_wait, behind newer messages already applied.
      const rewind = async () => {
        try {
          await jsm.consumers.delete(options.stream, request.name);
        } catch {
          // absent
        }
        const last = request.applied?.(options.stream);
        await jsm.consumers.add(options.stream, {
          durable_name: request.name,
          ack_policy: AckPolicy.Explicit,
          ...(last === undefined ? { deliver_policy: DeliverPolicy.All } : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: Number(last) + 1 }),
          ack_wait: (options.ackWaitMs ?? 30_000) * NS,
          max_ack_pending: 20_000,
          // Server 2.9 takes one filter: several topics share the prefix's wildcard and are filtered here.
          filter_subject: request.topics.length === 1 ? subject(request.topics[0]) : `${prefix}.>`,
        });
        return js.consumers.get(options.stream, request.name);
      };
      let consumer: Awaited<ReturnType<typeof rewind>>;
      try {
        consumer = await rewind();
      } catch (error) {
        await nc.close();
        throw new BridgeConfigError(
          engine,
          `durable consumer "${request.name}" on stream "${options.stream}": ${(error as Error).message}; pick another bridge name or fix the stream`,
        );
      }
      let stale = false;
      void (async () => {
        for await (const s of nc.status()) if (s.type === 'reconnect') stale = true;
      })().catch(() => {});
      const held = new Map<InMessage, JsMsg>();
      // consume() keeps pulls outstanding, so a fetch returns what has arrived at once
      // (fetch() of the client waits for a full batch or its expiry: ~100 ms of latency).
      let feed = follow(consumer);
      return {
        async fetch(max: number, waitMs: number) {
          if (stale) {
            stale = false;
            feed.stop();
            held.clear();
            try {
              consumer = await rewind();
            } catch (error) {
              stale = true;
              throw error;
            }
            feed = follow(consumer);
          }
          if (feed.queue.length === 0 && feed.error === null) await feed.next(waitMs);
          if (feed.error !== null) {
            stale = true;
            throw feed.error;
          }
          const out: InMessage[] = [];
          const taken = feed.queue.splice(0, max);
          feed.taken();
          for (const msg of taken) {
            // A delivery lost on the way (a connection dropped with it in flight) leaves a
            // gap in the consumer's sequence: what follows would pass it, and it would come
            // back only after ack_wait, looking applied. Start again after what was applied.
            if (msg.info.deliverySequence !== feed.expected) {
              stale = true;
              break;
            }
            feed.expected++;
            const topic = msg.subject.slice(prefix.length + 1);
            if (!topics.has(topic)) {
              msg.ack();
              continue;
            }
            const m: InMessage = { stream: options.stream, position: BigInt(msg.seq), topic, payload: msg.data };
            held.set(m, msg);
            out.push(m);
          }
          return out;
        },
        async ack(batch: readonly InMessage[]) {
          for (const m of batch) {
            held.get(m)?.ack();
            held.delete(m);
          }
          await nc.flush();
        },
        close: () => nc.close(),
      };
    },
  };
}
