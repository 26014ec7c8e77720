/**
 * `ringbus/redis`: bridges between ringbus topics and Redis Streams (one stream key per
 * topic). Needs the optional peer dependency `ioredis`.
 */
import { Redis } from 'ioredis';
import { BridgeConfigError, BridgeUnreachableError, InvalidOptionError } from '../errors.js';
import type { Engine, EngineIn, EngineOut, InMessage, OpenRequest, OutMessage } from './engine.js';

export { bridgeIn, type BridgeInOptions } from './inbound.js';
export { bridgeOut, type BridgeDeadLetter, type BridgeOutOptions } from './outbound.js';
export type { Bridge, BridgeStats } from './shared.js';
export type { BridgeState, Engine, EngineIn, EngineOut, InMessage, OutMessage } from './engine.js';

export interface RedisEngineOptions {
  /** 'redis://host:port' (ioredis's URL form: user, password and database number included). */
  url: string;
  /** Topic `t` is the stream key `<keyPrefix>:t`. Default 'ringbus'. */
  keyPrefix?: string;
  /** How long the first connection may take before BridgeUnreachableError. Default 30,000 ms; once connected a bridge waits for the server for ever. */
  connectTimeoutMs?: number;
  /** Outbound: trims each stream to about this many entries (XADD MAXLEN ~). Default: no trim. */
  maxLen?: number;
  /** Outbound: the largest entry value sent (Redis's own limit is 512 MB). Default 64 MiB. */
  maxPayload?: number;
}

const SHIFT = 64n;

export function redisEngine(options: RedisEngineOptions): Engine {
  if (typeof options.url !== 'string' || !/^rediss?:\/\/[^\s]+$/.test(options.url)) {
    throw new InvalidOptionError(`redisEngine(): url is 'redis://host:port', got ${JSON.stringify(options.url)}`);
  }
  const prefix = options.keyPrefix ?? 'ringbus';
  if (typeof prefix !== 'string' || prefix.length === 0)
    throw new InvalidOptionError(`redisEngine(): keyPrefix must be a non-empty string, got ${JSON.stringify(prefix)}`);
  const maxLen = options.maxLen;
  if (maxLen !== undefined && !(Number.isInteger(maxLen) && maxLen >= 1)) {
    throw new InvalidOptionError(`redisEngine(): maxLen must be a positive integer (entries kept per stream), got ${String(maxLen)}`);
  }
  const maxPayload = options.maxPayload ?? 64 << 20;
  const connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
  const key = (topic: string) => `${prefix}:${topic}`;
  const engine = 'Redis Streams';

  async function open(request: OpenRequest): Promise<Redis> {
    const redis = new Redis(options.url, {
      lazyConnect: true,
      maxRetriesPerRequest: null, // commands wait through a reconnection, and are sent again
      retryStrategy: () => 200,
      connectionName: `ringbus-bridge-${request.name}`,
    });
    redis.on('error', () => {}); // reconnecting; the state says so
    redis.on('close', () => request.onState('reconnecting'));
    redis.on('ready', () => request.onState('connected'));
    const ready = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), connectTimeoutMs);
      redis.once('ready', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    redis.connect().catch(() => {});
    if (!(await ready)) {
      redis.disconnect();
      throw new BridgeUnreachableError(engine, options.url, connectTimeoutMs);
    }
    return redis;
  }

  return {
    name: engine,
    checkTopic(): void {}, // a stream key may hold any bytes

    async openOut(request: OpenRequest): Promise<EngineOut> {
      const redis = await open(request);
      return {
        maxPayload,
        async publish(batch: readonly OutMessage[]) {
          const pipeline = redis.pipeline();
          for (const m of batch) {
            const id = `${m.epoch}-${m.seq + 1}`;
            if (maxLen === undefined) pipeline.xadd(key(m.topic), id, 'v', Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.length));
            else pipeline.xadd(key(m.topic), 'MAXLEN', '~', maxLen, id, 'v', Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.length));
          }
          const results = (await pipeline.exec()) ?? [];
          if (results.length !== batch.length) throw new Error(`Redis answered ${results.length} of ${batch.length} XADDs`);
          let duplicates = 0;
          for (const [error] of results) {
            // An id at or below the stream's last: this event is already there (ids grow with the bus position).
            if (error !== null && /equal or smaller/.test(error.message)) duplicates++;
            else if (error !== null) throw error;
          }
          return { duplicates };
        },
        async close() {
          redis.disconnect();
        },
      };
    },

    async openIn(request: OpenRequest): Promise<EngineIn> {
      const redis = await open(request);
      const keys = request.topics.map(key);
      const topicOf = new Map(request.topics.map((t) => [key(t), t]));
      for (const k of keys) {
        try {
          await redis.xgroup('CREATE', k, request.name, '0', 'MKSTREAM');
        } catch (error) {
          if (/BUSYGROUP/.test((error as Error).message)) continue;
          redis.disconnect();
          throw new BridgeConfigError(engine, `group "${request.name}" on key "${k}": ${(error as Error).message}; the key must be a stream (or absent)`);
        }
      }
      // First what was delivered to this consumer and never acknowledged (a crash, or a reply
      // lost with the connection: ioredis sends the command again, and the first delivery
      // stays pending), then new entries. So again after every reconnection.
      let pending = true;
      let connection = 0;
      redis.on('close', () => {
        pending = true;
        connection++;
      });
      return {
        async fetch(max: number, waitMs: number) {
          let reply: [Buffer, [Buffer, Buffer[] | null][]][] | null;
          const [asked, on] = [pending, connection];
          try {
            reply = asked
              ? await redis.xreadgroupBuffer('GROUP', request.name, request.name, 'COUNT', max, 'STREAMS', ...keys, ...keys.map(() => '0'))
              : await redis.xreadgroupBuffer('GROUP', request.name, request.name, 'COUNT', max, 'BLOCK', waitMs, 'STREAMS', ...keys, ...keys.map(() => '>'));
          } catch (error) {
            pending = true;
            throw error;
          }
          // ioredis sent it again after a reconnection: a first delivery may have been lost
          // with the connection, and those entries wait in the pending list, before these.
          if (on !== connection) return [];
          const out: InMessage[] = [];
          for (const [k, entries] of reply ?? []) {
            const stream = k.toString();
            for (const [id, fields] of entries) {
              if (fields === null) continue; // deleted (trimmed) while pending: nothing to apply
              const [ms, seq] = id.toString().split('-');
              let payload: Buffer | undefined;
              for (let f = 0; f + 1 < fields.length; f += 2) if (fields[f].toString() === 'v') payload = fields[f + 1];
              out.push({ stream, position: (BigInt(ms) << SHIFT) | BigInt(seq), topic: topicOf.get(stream)!, payload: payload ?? new Uint8Array(0) });
            }
          }
          if (asked && out.length === 0 && on === connection) pending = false;
          return out;
        },
        async ack(batch: readonly InMessage[]) {
          const byKey = new Map<string, string[]>();
          for (const m of batch) {
            const ids = byKey.get(m.stream) ?? [];
            ids.push(`${m.position >> SHIFT}-${m.position & ((1n << SHIFT) - 1n)}`);
            byKey.set(m.stream, ids);
          }
          const pipeline = redis.pipeline();
          for (const [k, ids] of byKey) pipeline.xack(k, request.name, ...ids);
          await pipeline.exec();
        },
        async close() {
          redis.disconnect();
        },
      };
    },
  };
}
