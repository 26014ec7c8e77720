// A memory soak: a mixed load on one bus for N seconds, sampling the process's memory.
//
//   node --expose-gc scripts/soak.mjs --seconds 600 [--interval 5] [--json out.json]
//
// Load: 2 producer workers (MessagePack batches of mixed topics), 2 gating reader workers
// (each checks every producer's order), a consumer group of 2 member workers, and a lossy
// tap read by `for await` on the main thread. Every `--interval` seconds each thread
// (workers included, through a shared epoch word they check in their loops) takes a
// sample of its own V8 heap, after a full GC when node runs with --expose-gc, and posts it.
// A sample line: RSS, the sum over threads of used heap (live objects after the GC), of
// the young generations, of committed heap, and `outside`: RSS minus every thread's
// committed heap (what malloc, the code and the shared memory hold).
//
// Options: --seconds N (default 60), --interval S (default 5), --json FILE (every sample
// and the summary), --quiet, --young-mb M (resourceLimits.maxYoungGenerationSizeMb of
// the workers), --capacity BYTES (default 1 MiB), --snapshots E1,E2 (every thread writes a heap
// snapshot, soak-<thread>-<epoch>.heapsnapshot in the working directory, at those samples). It exits 1 if any reader saw an event
// lost, reordered or invented.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';

const dist = new URL('../dist/index.js', import.meta.url);
const { attach, BusClosedError, createBus } = await import(dist.href);

const TOPICS = ['orders', 'refunds'];
const BATCH = 64;

/** This thread's heap, after a full GC where one can be forced; a heap snapshot at the epochs asked for. */
function heapSample(epoch, snapshots, who) {
  if (typeof globalThis.gc === 'function') globalThis.gc();
  if (snapshots.includes(epoch)) v8.writeHeapSnapshot(`soak-${who}-${epoch}.heapsnapshot`);
  const h = v8.getHeapStatistics();
  let young = 0;
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.space_name === 'new_space' || s.space_name === 'new_large_object_space') young += s.physical_space_size;
  }
  const m = process.memoryUsage();
  return { used: h.used_heap_size, committed: h.total_physical_size, young, external: m.external, arrayBuffers: m.arrayBuffers, malloced: h.malloced_memory };
}

// ---------------------------------------------------------------------------------------- workers

function runWorker({ role, handle, epoch, id, group, snapshots }) {
  const bus = attach(handle);
  const epochs = new Int32Array(epoch);
  let seen = 0;
  const maybeSample = () => {
    const e = Atomics.load(epochs, 0);
    if (e !== seen) {
      seen = e;
      parentPort.postMessage({ type: 'sample', epoch: e, role, id, heap: heapSample(e, snapshots, `${role}-${id}`) });
    }
  };

  if (role === 'producer') {
    let n = 0;
    const events = [];
    for (let i = 0; i < BATCH; i++) events.push({ topic: TOPICS[i & 1], value: null });
    try {
      for (;;) {
        for (let i = 0; i < BATCH; i++) events[i].value = { p: id, n: n++, sku: 'SKU-' + (n % 1000), qty: n % 7, price: (n % 1000) / 10 };
        bus.publishEvents(events);
        maybeSample();
      }
    } catch (error) {
      if (!(error instanceof BusClosedError)) throw error;
      n -= BATCH; // the last batch was refused whole
    }
    parentPort.postMessage({ type: 'done', role, id, published: n });
    return;
  }

  const name = role === 'member' ? `member-${id}` : `reader-${id}`;
  const reader = bus.reader(name, role === 'member' ? { group, wait: 'block' } : { wait: 'block' });
  const last = [-1, -1];
  let received = 0;
  let errors = 0;
  const handler = (value) => {
    received++;
    if (role === 'reader') {
      if (value.n !== last[value.p] + 1) errors++;
      last[value.p] = value.n;
    } else if (value.n <= last[value.p]) {
      errors++; // a member sees a subsequence of each producer's events, in order
    }
    last[value.p] = value.n;
  };
  for (;;) {
    reader.poll(handler);
    maybeSample();
    if (!reader.wait(50) && reader.ended) break;
  }
  parentPort.postMessage({ type: 'done', role, id, received, errors });
  reader.close();
}

// ---------------------------------------------------------------------------------------- main

function parseArgs(argv) {
  const args = { seconds: 60, interval: 5, json: undefined, quiet: false, youngMb: undefined, capacity: 1 << 20, snapshots: [] };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--seconds') args.seconds = Number(next());
    else if (flag === '--interval') args.interval = Number(next());
    else if (flag === '--json') args.json = next();
    else if (flag === '--quiet') args.quiet = true;
    else if (flag === '--young-mb') args.youngMb = Number(next());
    else if (flag === '--capacity') args.capacity = Number(next());
    else if (flag === '--snapshots') args.snapshots = next().split(',').map(Number);
    else throw new Error(`unknown option ${flag}; see the comment at the top of scripts/soak.mjs`);
  }
  return args;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const mb = (b) => (b / 2 ** 20).toFixed(1);
  const log = args.quiet ? () => undefined : (line) => console.log(line);
  const bus = createBus({ capacity: args.capacity, topics: TOPICS });
  // Readers open before the producers start, so that they see every event.
  for (const name of ['reader-0', 'reader-1']) bus.reader(name).close();
  for (const name of ['member-0', 'member-1']) bus.reader(name, { group: 'workers' }).close();
  const tap = bus.reader('tap', { lossy: true, start: 'newest', wait: 'async' });
  const epoch = new SharedArrayBuffer(4);
  const epochs = new Int32Array(epoch);
  const roles = [
    ['producer', 0],
    ['producer', 1],
    ['reader', 0],
    ['reader', 1],
    ['member', 0],
    ['member', 1],
  ];
  const threads = roles.length + 1;
  const pending = new Map(); // epoch -> the heaps of the threads that reported it so far
  const samples = [];
  const done = [];
  const started = performance.now();
  let tapped = 0;

  const record = (e, heap) => {
    let entry = pending.get(e);
    if (entry === undefined) pending.set(e, (entry = { heaps: [] }));
    entry.heaps.push(heap);
    if (entry.heaps.length < threads) return;
    for (const key of pending.keys()) if (key <= e) pending.delete(key); // older ones a busy thread skipped stay incomplete
    const rss = process.memoryUsage.rss();
    const sum = (key) => entry.heaps.reduce((s, h) => s + h[key], 0);
    const stats = bus.stats();
    const sample = {
      t: Math.round((performance.now() - started) / 100) / 10,
      rss,
      used: sum('used'),
      young: sum('young'),
      committed: sum('committed'),
      outside: rss - sum('committed'),
      external: sum('external'),
      arrayBuffers: sum('arrayBuffers'),
      malloced: sum('malloced'),
      published: stats.published,
      tapped,
      perThread: entry.heaps.map((h) => ({ used: h.used, committed: h.committed, young: h.young })),
    };
    samples.push(sample);
    log(
      `t=${String(sample.t).padStart(6)}s rss ${mb(rss)} MB  live ${mb(sample.used)}  young ${mb(sample.young)}  committed ${mb(sample.committed)}  ` +
        `outside ${mb(sample.outside)}  external ${mb(sample.external)}  events ${(stats.published / 1e6).toFixed(2)}M`,
    );
  };

  const workers = roles.map(([role, id]) => {
    const options = { workerData: { role, id, handle: bus.handle, epoch, group: 'workers', snapshots: args.snapshots } };
    if (args.youngMb !== undefined) options.resourceLimits = { maxYoungGenerationSizeMb: args.youngMb };
    const worker = new Worker(new URL(import.meta.url), options);
    worker.on('message', (m) => {
      if (m.type === 'sample') record(m.epoch, m.heap);
      else if (m.type === 'done') done.push(m);
    });
    worker.on('error', (error) => {
      console.error(`${role} ${id} failed:`, error);
      process.exitCode = 1;
    });
    return new Promise((resolve) => worker.on('exit', resolve));
  });

  const reading = (async () => {
    for await (const _ of tap) {
      // An iterator that always has an event never leaves the microtask queue: let timers in.
      if (++tapped % 1024 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const timer = setInterval(() => {
    const e = Atomics.add(epochs, 0, 1) + 1;
    record(e, heapSample(e, args.snapshots, 'main'));
  }, args.interval * 1000);
  await new Promise((resolve) => setTimeout(resolve, args.seconds * 1000));
  clearInterval(timer);
  bus.close();
  await Promise.all(workers);
  await reading;
  const missed = tap.missed;
  tap.close();

  const published = done.filter((d) => d.role === 'producer').reduce((s, d) => s + d.published, 0);
  const failures = [];
  for (const d of done) {
    if (d.errors) failures.push(`${d.role} ${d.id}: ${d.errors} events out of order`);
    if (d.role === 'reader' && d.received !== published) failures.push(`reader ${d.id} received ${d.received} of ${published}`);
  }
  const members = done.filter((d) => d.role === 'member').reduce((s, d) => s + d.received, 0);
  if (members !== published) failures.push(`the group received ${members} of ${published}`);
  if (done.length !== roles.length) failures.push(`${roles.length - done.length} workers gave no result`);
  const seconds = (performance.now() - started) / 1000;
  const summary = { seconds, published, rate: published / seconds, tapped, missed, failures, gc: typeof globalThis.gc === 'function' };
  log(`${published} events in ${seconds.toFixed(0)} s (${Math.round(summary.rate)}/s), tap got ${tapped} and missed ${missed}`);
  for (const f of failures) console.error(`FAIL ${f}`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ args, summary, samples }, null, 1));
  if (failures.length > 0) process.exitCode = 1;
}

if (isMainThread) await main();
else runWorker(workerData);
