// The bridge guarantees, the same for every engine: each scenario runs against a real server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createBus,
  createPipeline,
  BridgeConfigError,
  BridgeMessageTooLargeError,
  BridgeTopicError,
  BridgeUnreachableError,
  BusClosedError,
  InvalidOptionError,
} from 'ringbus';
import { bridgeIn, bridgeOut, type Engine, natsEngine } from 'ringbus/nats';
import { redisEngine } from 'ringbus/redis';
import { encode } from '@msgpack/msgpack';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { missingServer, type Server } from './bridge-servers.js';
import { BridgeWorker, Checker, engineOptions, sleep, trip, until, type EngineKind } from './bridge-helpers.js';
import { stageUrl } from './pipeline-helpers.js';
import { start } from './harness.js';

export function bridgeTests(kind: EngineKind, make: () => Promise<Server>): void {
  const missing = missingServer(kind === 'nats' ? 'nats-server' : 'redis-server');
  if (missing !== undefined) {
    describe.skip(`${kind} bridge (${missing})`, () => {
      it('runs against a real server', () => undefined);
    });
    return;
  }
  const engineOf = (o: Record<string, unknown>): Engine => (kind === 'nats' ? natsEngine(o as any) : redisEngine(o as any));
  let server: Server;
  beforeAll(async () => {
    server = await make();
    await server.start();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  describe(`${kind} bridge`, () => {
    it("carries 200,000 events from two producers out of bus A and into bus B: each once, in each producer's order", async () => {
      const t = trip({ kind, server, tag: 'bulk', producers: 2, perProducer: 100_000 });
      try {
        await t.out.start();
        await t.into.start();
        t.startProducers();
        const stats = await t.finish();
        expect(stats.out).toMatchObject({ state: 'closed', published: 200_000, duplicates: 0, deadLetters: 0 });
        expect(stats.into).toMatchObject({ state: 'closed', published: 200_000, duplicates: 0 });
      } finally {
        await t.dispose();
      }
    });

    it('loses nothing and duplicates nothing in bus B when the server is killed (SIGKILL) mid-stream and restarted', async () => {
      const t = trip({ kind, server, tag: 'sigkill', producers: 2, perProducer: 20_000, pauseMs: 10 });
      try {
        await t.out.start();
        await t.into.start();
        t.startProducers();
        await until('a quarter of the events in bus B', () => t.checker.total >= 10_000);
        await server.kill();
        await sleep(500);
        await server.start();
        await t.finish();
      } finally {
        await t.dispose();
      }
    });

    it('loses nothing and duplicates nothing when the outbound and then the inbound bridge worker are terminated mid-stream and restarted', async () => {
      const t = trip({ kind, server, tag: 'workers', producers: 2, perProducer: 20_000, pauseMs: 10 });
      try {
        await t.out.start();
        await t.into.start();
        t.startProducers();
        await until('a quarter of the events in bus B', () => t.checker.total >= 10_000);
        await t.out.terminate();
        await sleep(200);
        await t.out.start();
        await until('half of the events in bus B', () => t.checker.total >= 20_000);
        await t.into.terminate();
        await sleep(200);
        await t.into.start();
        await t.finish();
      } finally {
        await t.dispose();
      }
    });

    it('waits for a server unreachable at start and for one gone 5 s mid-stream; backpressure holds the producers; stats() shows state and lag', async () => {
      const late = await make(); // its own server, not started yet
      const t = trip({ kind, server: late, tag: 'outage', producers: 2, perProducer: 15_000, pauseMs: 10, capacity: 1 << 16 });
      try {
        const outReady = t.out.start(30_000);
        const inReady = t.into.start(30_000);
        await until("the outbound bridge's reader on bus A", () => t.busA.stats().readers.some((r) => r.name.startsWith('bridge-out:')));
        t.startProducers();
        // Worker threads start slowly on a loaded machine: wait for the producers to run, then give them time to fill the ring.
        await until('the producers filling bus A', () => t.busA.backlog() > (1 << 16) / 2);
        await sleep(1_000);
        // Nothing crossed, the ring is full and the producers wait.
        expect(t.checker.total).toBe(0);
        expect(t.busA.backlog()).toBeGreaterThan((1 << 16) / 2);
        const held = t.busA.stats().published;
        await sleep(300);
        expect(t.busA.stats().published).toBe(held);
        expect(held).toBeLessThan(30_000);
        await late.start();
        await outReady;
        await inReady;
        await until('a third of the events in bus B', () => t.checker.total >= 10_000);
        await late.stop();
        await sleep(1_000);
        const during = await t.out.stats();
        expect(during.state).toBe('reconnecting');
        expect(during.lagEvents).toBeGreaterThan(0);
        // Nothing leaves bus A while the server is away (the inbound bridge may still apply
        // what it had received), and the full ring holds the producers.
        const stored = during.published;
        const published = t.busA.stats().published;
        await sleep(4_000);
        expect((await t.out.stats()).published).toBe(stored);
        expect(t.busA.stats().published).toBe(published);
        await late.start();
        await t.finish();
      } finally {
        await t.dispose();
        await late.dispose();
      }
    });

    it('an inbound bus whose other producers fill the ring behind the newest marker: no deadlock, each event once', async () => {
      const t = trip({ kind, server, tag: 'pinned', producers: 2, perProducer: 3_000, pauseMs: 5, capacityB: 1 << 16 });
      // A local producer as fast as it can go, and a reader keeping up with it: only the
      // inbound bridge's newest marker holds the ring.
      // (Paced: an async publisher, as the bridge is, does not win space from a producer
      // that never stops; that is the ring's fairness, not the bridge's.)
      const noise = start('bridge-producer', { handle: t.busB.handle, topic: 'noise', producer: 0, count: 50_000_000, batch: 64, pauseMs: 1 }, 120_000);
      const drain = t.busB.reader('noise-reader', { topics: ['noise'], wait: 'async' });
      let draining = true;
      const draining$ = (async () => {
        while (draining) {
          await drain.waitAsync(20);
          drain.poll(() => {}, 4096);
        }
      })();
      try {
        await t.out.start();
        await t.into.start();
        t.startProducers();
        const stats = await t.finish(40_000);
        expect(stats.into.markerReleases).toBeGreaterThan(0);
      } finally {
        draining = false;
        await draining$;
        await noise.worker.terminate();
        await t.dispose();
      }
    });

    it("fills a pipeline's bridged input exactly once into each stage that consumes it, through a bridge worker terminated mid-stream and restarted", async () => {
      const tag = 'pipe';
      const busA = createBus({ capacity: 1 << 20, topics: ['orders', 'dead'] });
      const options = engineOptions(kind, server, tag);
      const out = new BridgeWorker('out', {
        handle: busA.handle,
        engine: kind,
        engineOptions: options,
        bridgeOptions: { topics: ['orders'], name: `out_${tag}`, deadLetterTopic: 'dead' },
      });
      // Small rings: the bridge's newest marker pins each of them through many wraps.
      const pipeline = createPipeline({
        inputs: ['orders'],
        bridgedInputs: ['orders'],
        outputs: ['a', 'b'],
        capacity: 1 << 16,
        outputCapacity: 1 << 22,
        standby: 0,
        stages: [
          { name: 'copy-a', module: stageUrl('relay'), consumes: ['orders'], produces: ['a'], options: { to: 'a' } },
          { name: 'copy-b', module: stageUrl('relay'), consumes: ['orders'], produces: ['b'], options: { to: 'b' } },
        ],
      });
      const checkers = [new Checker(pipeline.output, 2, 'a'), new Checker(pipeline.output, 2, 'b')];
      const into = new BridgeWorker('in', {
        handle: pipeline.inputHandle,
        engine: kind,
        engineOptions: options,
        bridgeOptions: { topics: ['orders'], name: `in_${tag}` },
      });
      const producers = [0, 1].map((p) =>
        start('bridge-producer', { handle: busA.handle, topic: 'orders', producer: p, count: 20_000, batch: 100, pauseMs: 10 }, 120_000),
      );
      try {
        await out.start();
        await pipeline.start();
        await into.start();
        await until('a quarter of the events through the pipeline', () => checkers[0].total >= 10_000);
        await into.terminate();
        if (kind === 'redis') {
          // Every message comes again, as after acks lost with a crash: the rings' markers must drop what they hold.
          const client = new Redis(server.url);
          await client.xgroup('SETID', `t_${tag}:orders`, `in_${tag}`, '0');
          client.disconnect();
        }
        await sleep(200);
        await into.start();
        await Promise.all(producers.map((p) => p.result));
        await until('every event out of both stages', () => checkers.every((c) => c.total >= 40_000), 25_000);
        // The newest marker stays in each stage's ring: drain() still sees the stages done.
        await pipeline.drain({ timeoutMs: 10_000 });
        await sleep(300); // room for a duplicate to show up
        for (const c of checkers) {
          await c.stop();
          expect({ duplicates: c.duplicates, holes: c.holes, total: c.total, next: c.next }).toEqual({
            duplicates: 0,
            holes: 0,
            total: 40_000,
            next: [20_000, 20_000],
          });
        }
        expect(pipeline.stats().stages.map((s) => [s.name, s.eventsIn, s.deadLetters])).toEqual([
          ['copy-a', 40_000, 0],
          ['copy-b', 40_000, 0],
        ]);
        const stats = await into.close();
        expect(stats).toMatchObject({ state: 'closed', deadLetters: 0 });
        if (kind === 'redis') expect(stats.duplicates).toBeGreaterThanOrEqual(10_000);
        expect((await out.close()).lagEvents).toBe(0);
      } finally {
        for (const c of checkers) await c.stop();
        for (const p of producers) await p.worker.terminate();
        await out.worker?.terminate();
        await into.worker?.terminate();
        await pipeline.close();
        busA.close();
      }
    });

    it('refuses a pipeline part that is not declared, with errors that say what to declare', async () => {
      const stage = { name: 'copy', module: stageUrl('relay'), consumes: ['orders'], produces: ['a'], options: { to: 'a' } };
      expect(() => createPipeline({ inputs: ['orders'], bridgedInputs: ['a'], outputs: ['a'], stages: [stage] })).toThrow(
        /bridgedInputs: "a" is not an input of this pipeline; declare it in inputs/,
      );
      expect(() => createPipeline({ inputs: ['orders'], bridgedInputs: ['orders'], outputs: ['a'], codec: 'raw', stages: [stage] })).toThrow(
        /'msgpack' or 'json', not 'raw'/,
      );
      const pipeline = createPipeline({ inputs: ['orders'], outputs: ['a'], stages: [stage] });
      try {
        const engine = engineOf(engineOptions(kind, server, 'undeclared'));
        const notBridged = await bridgeIn(pipeline, { topics: ['orders'], engine }).catch((e) => e);
        expect(notBridged).toBeInstanceOf(InvalidOptionError);
        expect(notBridged.message).toMatch(/"orders" is not a bridged input of the pipeline .*declare it in createPipeline\(\{ inputs, bridgedInputs \}\)/);
        const notOutput = await bridgeOut(pipeline, { topics: ['orders'], engine }).catch((e) => e);
        expect(notOutput).toBeInstanceOf(InvalidOptionError);
        expect(notOutput.message).toMatch(/"orders" is not an output of the pipeline .*declare it in createPipeline\(\{ outputs \}\)/);
      } finally {
        await pipeline.close();
      }
      const bridged = createPipeline({ inputs: ['orders'], bridgedInputs: ['orders'], outputs: ['a'], stages: [stage] });
      try {
        const engine = engineOf(engineOptions(kind, server, 'undeclared'));
        await expect(bridgeIn(bridged, { topics: ['orders'], progressTopic: 'orders', engine })).rejects.toThrow(
          /takes neither progressTopic nor deadLetterTopic/,
        );
      } finally {
        await bridged.close();
      }
      const closed = await bridgeIn(bridged, { topics: ['orders'], engine: engineOf(engineOptions(kind, server, 'closed')) }).catch((e) => e);
      expect(closed).toBeInstanceOf(BusClosedError);
      expect(closed.message).toMatch(/the pipeline is closed/);
    });

    it('refuses bad input with typed errors that say what to do', async () => {
      const bus = createBus({ capacity: 1 << 23, topics: ['orders', 'dead', 'bad topic'] });
      try {
        // Nothing listens there.
        const nowhere =
          kind === 'nats' ? { servers: 'nats://127.0.0.1:1', stream: 'S_none', connectTimeoutMs: 300 } : { url: 'redis://127.0.0.1:1', connectTimeoutMs: 300 };
        const unreachable = await bridgeOut(bus, { topics: ['orders'], name: 'nowhere', engine: engineOf(nowhere) }).catch((e) => e);
        expect(unreachable).toBeInstanceOf(BridgeUnreachableError);
        expect(unreachable.message).toMatch(/did not answer within 300 ms; start the server/);
        expect(() => engineOf(kind === 'nats' ? { servers: 'http://x y', stream: 'S' } : { url: 'http://x y' })).toThrow(InvalidOptionError);
        await expect(bridgeOut(bus, { topics: ['orders'], name: 'n'.repeat(40), engine: engineOf(engineOptions(kind, server, 'long')) })).rejects.toThrow(
          /1 to 39 letters/,
        );
        await expect(bridgeOut(bus, { topics: ['nope'], engine: engineOf(engineOptions(kind, server, 'nope')) })).rejects.toThrow(/unknown topic "nope"/);
        const shut = createBus({ topics: ['orders', 'progress'] });
        shut.close();
        await expect(bridgeIn(shut, { topics: ['orders'], progressTopic: 'progress', engine: engineOf(engineOptions(kind, server, 'shut')) })).rejects.toThrow(
          BusClosedError,
        );

        if (kind === 'nats') {
          // A second stream over the same subjects: JetStream refuses it.
          const first = await bridgeOut(bus, { topics: ['orders'], name: 'cfg1', engine: engineOf(engineOptions(kind, server, 'cfg', { stream: 'S_cfg1' })) });
          await first.close();
          const overlap = await bridgeOut(bus, {
            topics: ['orders'],
            name: 'cfg2',
            engine: engineOf(engineOptions(kind, server, 'cfg', { stream: 'S_cfg2' })),
          }).catch((e) => e);
          expect(overlap).toBeInstanceOf(BridgeConfigError);
          expect(overlap.message).toMatch(/stream "S_cfg2": .*overlap.*; fix streamConfig/);
          const badTopic = await bridgeOut(bus, { topics: ['bad topic'], engine: engineOf(engineOptions(kind, server, 'topic')) }).catch((e) => e);
          expect(badTopic).toBeInstanceOf(BridgeTopicError);
          expect(badTopic.message).toMatch(/rename the topic/);
        } else {
          expect(() => engineOf({ url: server.url, maxLen: -1 })).toThrow(InvalidOptionError);
          // The topic's key holds a string, not a stream: the group cannot be created.
          const client = new Redis(server.url);
          await client.set('t_wrong:orders', 'x');
          client.disconnect();
          const into = createBus({ topics: ['orders', 'progress'] });
          const wrong = await bridgeIn(into, { topics: ['orders'], progressTopic: 'progress', engine: engineOf(engineOptions(kind, server, 'wrong')) }).catch(
            (e) => e,
          );
          into.close();
          expect(wrong).toBeInstanceOf(BridgeConfigError);
          expect(wrong.message).toMatch(/WRONGTYPE.*the key must be a stream/);
        }

        // A foreign publisher's message that is not MessagePack: a dead letter on the way in, and the next message still arrives.
        const busB = createBus({ topics: ['orders', 'progress', 'dead'] });
        try {
          const foreign = engineOptions(kind, server, 'foreign');
          const inward = await bridgeIn(busB, {
            topics: ['orders'],
            name: 'foreign',
            progressTopic: 'progress',
            deadLetterTopic: 'dead',
            engine: engineOf(foreign),
          });
          const garbage = new Uint8Array([0xc1]); // a byte MessagePack never uses
          const good = encode({ ok: 1 });
          if (kind === 'nats') {
            const nc = await connect({ servers: server.url });
            nc.publish('t_foreign.orders', garbage);
            nc.publish('t_foreign.orders', good);
            await nc.flush();
            await nc.close();
          } else {
            const client = new Redis(server.url);
            await client.xadd('t_foreign:orders', '*', 'v', Buffer.from(garbage));
            await client.xadd('t_foreign:orders', '*', 'v', Buffer.from(good));
            client.disconnect();
          }
          const arrived: unknown[] = [];
          const check = busB.reader('foreign-check', { topics: ['orders', 'dead'] });
          await until('the letter and the good message', () => (check.poll((v, topic) => arrived.push({ topic, v }), 10), arrived.length >= 2), 10_000);
          expect(arrived).toEqual([
            { topic: 'dead', v: expect.objectContaining({ bridge: 'foreign', topic: 'orders', bytes: 1, reason: expect.stringMatching(/^not MessagePack/) }) },
            { topic: 'orders', v: { ok: 1 } },
          ]);
          expect(inward.stats()).toMatchObject({ published: 1, deadLetters: 1 });
          await inward.close();
        } finally {
          busB.close();
        }

        // Larger than the engine takes: set aside on the dead-letter topic, the rest goes on; without one, the bridge stops.
        const limit = kind === 'nats' ? {} : { maxPayload: 1 << 20 };
        const letters = bus.reader<any>('letters', { topics: ['dead'] });
        const out = await bridgeOut(bus, {
          topics: ['orders'],
          name: 'big',
          deadLetterTopic: 'dead',
          engine: engineOf(engineOptions(kind, server, 'big', limit)),
        });
        bus.publish('orders', { n: 1 });
        bus.publish('orders', new Uint8Array(1_500_000));
        bus.publish('orders', { n: 2 });
        await until('the dead letter', () => out.stats().deadLetters === 1 && out.stats().lagEvents === 0, 10_000);
        expect(out.stats()).toMatchObject({ published: 2, deadLetters: 1 });
        const got: any[] = [];
        letters.poll((v) => got.push(v), 10);
        expect(got).toEqual([expect.objectContaining({ bridge: 'big', topic: 'orders', bytes: 1_500_005 })]);
        expect(got[0].reason).toMatch(/1500005 bytes, more than the engine's 1048576/);
        await out.close();

        const strict = await bridgeOut(bus, { topics: ['orders'], name: 'big', engine: engineOf(engineOptions(kind, server, 'big', limit)) });
        bus.publish('orders', new Uint8Array(1_500_000));
        const failure = await strict.done.catch((e) => e);
        expect(failure).toBeInstanceOf(BridgeMessageTooLargeError);
        expect(failure.message).toMatch(/give the bridge a deadLetterTopic/);
        expect(strict.stats().state).toBe('failed');
      } finally {
        bus.close();
      }
    });
  });
}
