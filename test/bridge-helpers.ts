// Shared scenarios of the bridge tests: bus A → bridge out (worker) → engine → bridge in
// (worker) → bus B, with producer workers on A and a checking reader on B.
import type { Worker } from 'node:worker_threads';
import { expect } from 'vitest';
import { createBus, type Bus, type BusHandle, type PipelineInputHandle } from 'ringbus';
import type { BridgeStats } from 'ringbus/nats';
import type { Server } from './bridge-servers.js';
import { start, type Running } from './harness.js';

export type EngineKind = 'nats' | 'redis';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(what: string, test: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

/** Engine options of a test of its own: streams, subjects and keys no other test uses. */
export function engineOptions(kind: EngineKind, server: Server, tag: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return kind === 'nats'
    ? { servers: server.url, stream: `S_${tag}`, subjectPrefix: `t_${tag}`, ...extra }
    : { url: server.url, keyPrefix: `t_${tag}`, ...extra };
}

export class BridgeWorker {
  running!: Running<any>;
  failure: { name: string; message: string } | null = null;

  constructor(
    readonly direction: 'out' | 'in',
    private readonly job: { handle: BusHandle | PipelineInputHandle; engine: EngineKind; engineOptions: unknown; bridgeOptions: unknown },
  ) {}

  /** Starts the worker; resolves when the bridge is connected, rejects with its typed error. */
  async start(timeoutMs = 20_000): Promise<void> {
    this.failure = null;
    this.running = start('bridge', { direction: this.direction, ...this.job }, 120_000);
    this.running.worker.setMaxListeners(100); // stats() and the start race add listeners
    this.running.worker.on('message', (m) => {
      if (m?.type === 'failed') this.failure = m;
    });
    const outcome = await Promise.race([this.running.message('ready', timeoutMs), this.running.message('failed', timeoutMs)]);
    if (outcome.type === 'failed') throw Object.assign(new Error(outcome.message), { name: outcome.name });
  }

  get worker(): Worker | undefined {
    return this.running?.worker;
  }

  async stats(): Promise<BridgeStats> {
    const worker = this.worker!;
    const reply = new Promise<any>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the bridge worker sent no stats within 5 s')), 5_000);
      const on = (m: any) => {
        if (m?.type !== 'stats') return;
        clearTimeout(timer);
        worker.off('message', on);
        resolve(m.stats);
      };
      worker.on('message', on);
    });
    worker.postMessage('stats');
    return reply;
  }

  /** A crash: no close, no commit of what is in hand. */
  async terminate(): Promise<void> {
    await this.worker!.terminate();
  }

  async close(): Promise<BridgeStats> {
    this.worker!.postMessage('close');
    const { stats } = await this.running.result;
    await this.worker!.terminate();
    return stats;
  }
}

/** Reads bus B and checks each producer's sequence: counts, duplicates, holes. */
export class Checker {
  readonly next: number[];
  duplicates = 0;
  holes = 0;
  total = 0;
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(bus: Bus, producers: number, topic = 'orders') {
    this.next = new Array(producers).fill(0);
    const reader = bus.reader<{ p: number; i: number }>(`check:${topic}`, { topics: [topic], wait: 'async' });
    this.loop = (async () => {
      while (!this.stopped) {
        await reader.waitAsync(50);
        reader.poll(({ p, i }) => {
          this.total++;
          if (i === this.next[p]) this.next[p]++;
          else if (i < this.next[p]) this.duplicates++;
          else {
            this.holes++;
            this.next[p] = i + 1;
          }
        }, 4096);
      }
      reader.close();
    })();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }
}

export interface Trip {
  busA: Bus;
  busB: Bus;
  out: BridgeWorker;
  into: BridgeWorker;
  checker: Checker;
  producers: Running<any>[];
  startProducers(): void;
  /** Waits for every event, then a little longer for stray duplicates, and checks exactly once in order. */
  finish(timeoutMs?: number): Promise<{ out: BridgeStats; into: BridgeStats }>;
  dispose(): Promise<void>;
}

export interface TripOptions {
  kind: EngineKind;
  server: Server;
  tag: string;
  producers: number;
  perProducer: number;
  batch?: number;
  pauseMs?: number;
  capacity?: number;
  /** Bus B's capacity (default 4 MiB); it also has a topic 'noise' for local producers. */
  capacityB?: number;
  engineExtra?: Record<string, unknown>;
}

/** Buses, checker and both bridge workers (not started: the test starts them). */
export function trip(o: TripOptions): Trip {
  const busA = createBus({ capacity: o.capacity ?? 1 << 20, topics: ['orders', 'dead'] });
  const busB = createBus({ capacity: o.capacityB ?? 1 << 22, topics: ['orders', 'progress', 'noise'] });
  const checker = new Checker(busB, o.producers);
  const options = engineOptions(o.kind, o.server, o.tag, o.engineExtra);
  const out = new BridgeWorker('out', {
    handle: busA.handle,
    engine: o.kind,
    engineOptions: options,
    bridgeOptions: { topics: ['orders'], name: `out_${o.tag}`, deadLetterTopic: 'dead' },
  });
  const into = new BridgeWorker('in', {
    handle: busB.handle,
    engine: o.kind,
    engineOptions: options,
    bridgeOptions: { topics: ['orders'], name: `in_${o.tag}`, progressTopic: 'progress' },
  });
  const producers: Running<any>[] = [];
  const expected = o.producers * o.perProducer;
  return {
    busA,
    busB,
    out,
    into,
    checker,
    producers,
    startProducers() {
      for (let p = 0; p < o.producers; p++) {
        producers.push(
          start(
            'bridge-producer',
            { handle: busA.handle, topic: 'orders', producer: p, count: o.perProducer, batch: o.batch ?? 100, pauseMs: o.pauseMs ?? 0 },
            120_000,
          ),
        );
      }
    },
    async finish(timeoutMs = 25_000) {
      await Promise.all(producers.map((p) => p.result));
      try {
        await until('every event in bus B', () => checker.total >= expected, timeoutMs);
      } catch (error) {
        const [a, b] = await Promise.all([out.stats().catch(String), into.stats().catch(String)]);
        throw new Error(
          `${(error as Error).message}: ${checker.total} of ${expected} (${checker.next.join(', ')} per producer); out ${JSON.stringify(a)}; in ${JSON.stringify(b)}`,
        );
      }
      await sleep(300); // room for a duplicate to show up
      await checker.stop();
      expect({ duplicates: checker.duplicates, holes: checker.holes, total: checker.total }).toEqual({ duplicates: 0, holes: 0, total: expected });
      expect(checker.next).toEqual(new Array(o.producers).fill(o.perProducer));
      const stats = { out: await out.close(), into: await into.close() };
      expect(stats.out.lagEvents).toBe(0);
      return stats;
    },
    async dispose() {
      await checker.stop();
      for (const p of producers) await p.worker.terminate();
      await out.worker?.terminate();
      await into.worker?.terminate();
      busA.close();
      busB.close();
    },
  };
}
