// Bridge figures: events/s and one-way latency (p50/p99) from a producer on bus A through
// the engine into bus B, for each engine, next to the engine's own client publishing the
// same events directly, in the same run. Starts nats-server and redis-server on loopback.
//   node scripts/bridge-bench.mjs [--events 50000] [--rate 2000] [--seconds 3] [--json]
// --json prints one line `RESULT {...}` instead of the table (the bench's bridge scenario reads it).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect as tcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { encode } from '@msgpack/msgpack';
import { jetstream } from '@nats-io/jetstream';
import { connect, createInbox, headers } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { createBus } from '../dist/index.js';
import { bridgeIn, bridgeOut, natsEngine } from '../dist/bridge/nats.js';
import { redisEngine } from '../dist/bridge/redis.js';

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '50000' },
    rate: { type: 'string', default: '2000' },
    seconds: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const EVENTS = Number(args.events);
const RATE = Number(args.rate);
const SECONDS = Number(args.seconds);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.timeOrigin + performance.now();

const freePort = () =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

async function startServer(binary, args, ready) {
  const dir = mkdtempSync(join(tmpdir(), 'ringbus-bench-'));
  const child = spawn(binary, args(dir), { cwd: dir, stdio: 'ignore' });
  for (let i = 0; i < 500 && !(await ready().catch(() => false)); i++) await sleep(20);
  return async () => {
    process.kill(child.pid, 'SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  };
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** bus A → bridge out → engine → bridge in → bus B, all on this thread's event loop. */
async function throughBridge(engine, tag) {
  const busA = createBus({ capacity: 1 << 22, topics: ['orders'], codec: 'msgpack' });
  const busB = createBus({ capacity: 1 << 22, topics: ['orders', 'progress'] });
  const reader = busB.reader('bench', { topics: ['orders'], wait: 'async' });
  const out = await bridgeOut(busA, { topics: ['orders'], engine, name: `out-${tag}` });
  const into = await bridgeIn(busB, { topics: ['orders'], engine, name: `in-${tag}`, progressTopic: 'progress' });
  const receive = async (count, onEvent) => {
    for (let seen = 0; seen < count; ) {
      await reader.waitAsync(1000);
      seen += reader.poll((v) => onEvent(v), 4096);
    }
  };
  // Throughput: everything at once.
  const start = now();
  const values = Array.from({ length: EVENTS }, (_, i) => ({ i, t: 0, pad: 'x'.repeat(40) }));
  const publishing = busA.publishBatchAsync('orders', values);
  await receive(EVENTS, () => {});
  await publishing;
  const eventsPerSec = EVENTS / ((now() - start) / 1000);
  // Latency: paced, each event stamped when published.
  const latencies = [];
  const count = RATE * SECONDS;
  const receiving = receive(count, (v) => latencies.push((now() - v.t) * 1000));
  const t0 = now();
  for (let i = 0; i < count; i++) {
    const due = t0 + (i * 1000) / RATE;
    while (now() < due) await sleep(Math.max(0, due - now() - 0.2));
    busA.publish('orders', { i, t: now(), pad: 'x'.repeat(40) });
  }
  await receiving;
  latencies.sort((a, b) => a - b);
  await out.close();
  await into.close();
  busA.close();
  busB.close();
  return { eventsPerSec, p50us: percentile(latencies, 50), p99us: percentile(latencies, 99) };
}

/** The NATS client alone: asynchronous JetStream publishes with message ids, acknowledged per batch of 512. */
async function natsDirect(url) {
  const nc = await connect({ servers: url });
  const jsm = await (await import('@nats-io/jetstream')).jetstreamManager(nc);
  await jsm.streams.add({ name: 'DIRECT', subjects: ['direct.>'] });
  void jetstream;
  const inbox = createInbox();
  let left = 0;
  let wake = () => {};
  nc.subscribe(`${inbox}.>`, { callback: () => --left === 0 && wake() });
  const start = now();
  for (let i = 0; i < EVENTS; i += 512) {
    const n = Math.min(512, EVENTS - i);
    left = n;
    const done = new Promise((r) => (wake = r));
    for (let j = 0; j < n; j++) {
      const h = headers();
      h.set('Nats-Msg-Id', `direct.${i + j}`);
      nc.publish('direct.orders', encode({ i: i + j, t: 0, pad: 'x'.repeat(40) }), { reply: `${inbox}.${i}.${j}`, headers: h });
    }
    await done;
  }
  const eventsPerSec = EVENTS / ((now() - start) / 1000);
  await nc.close();
  return { eventsPerSec };
}

/** The Redis client alone: XADD pipelined in batches of 512. */
async function redisDirect(url) {
  const redis = new Redis(url);
  const start = now();
  for (let i = 0; i < EVENTS; i += 512) {
    const p = redis.pipeline();
    for (let j = i; j < Math.min(EVENTS, i + 512); j++) p.xadd('direct:orders', '*', 'v', Buffer.from(encode({ i: j, t: 0, pad: 'x'.repeat(40) })));
    await p.exec();
  }
  const eventsPerSec = EVENTS / ((now() - start) / 1000);
  redis.disconnect();
  return { eventsPerSec };
}

const fmt = (n) => (n >= 1000 ? `${(n / 1000).toFixed(1)}k` : n.toFixed(0));
const rows = [];

const natsPort = await freePort();
const monitor = await freePort();
const stopNats = await startServer(
  'nats-server',
  (dir) => ['-a', '127.0.0.1', '-p', String(natsPort), '-m', String(monitor), '-js', '-sd', dir],
  async () => (await fetch(`http://127.0.0.1:${monitor}/healthz?js-enabled-only=true`)).status === 200,
);
const natsUrl = `nats://127.0.0.1:${natsPort}`;
const nb = await throughBridge(natsEngine({ servers: natsUrl, stream: 'BENCH', subjectPrefix: 'bench' }), 'nats');
rows.push(['NATS JetStream', 'bus A → bridge → bus B', fmt(nb.eventsPerSec), nb.p50us.toFixed(0), nb.p99us.toFixed(0)]);
const nd = await natsDirect(natsUrl);
rows.push(['NATS JetStream', 'client publishing directly (async, ids)', fmt(nd.eventsPerSec), '', '']);
await stopNats();

const redisPort = await freePort();
const stopRedis = await startServer(
  'redis-server',
  (dir) => ['--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'yes', '--dir', dir],
  () =>
    new Promise((resolve) => {
      const s = tcp(redisPort, '127.0.0.1', () => s.write('PING\r\n'));
      s.on('data', (d) => (s.destroy(), resolve(String(d).startsWith('+PONG'))));
      s.on('error', () => resolve(false));
    }),
);
const redisUrl = `redis://127.0.0.1:${redisPort}`;
const rb = await throughBridge(redisEngine({ url: redisUrl, keyPrefix: 'bench' }), 'redis');
rows.push(['Redis Streams', 'bus A → bridge → bus B', fmt(rb.eventsPerSec), rb.p50us.toFixed(0), rb.p99us.toFixed(0)]);
const rd = await redisDirect(redisUrl);
rows.push(['Redis Streams', 'client publishing directly (XADD pipelined)', fmt(rd.eventsPerSec), '', '']);
await stopRedis();

if (args.json) {
  console.log('RESULT ' + JSON.stringify({ events: EVENTS, rate: RATE, nats: { bridge: nb, direct: nd }, redis: { bridge: rb, direct: rd } }));
} else {
  console.log(`| engine | path | events/s (${EVENTS} events) | one-way p50 µs | p99 µs (at ${RATE}/s) |`);
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}
