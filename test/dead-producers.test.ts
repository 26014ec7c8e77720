// Dead producers whose death no thread with the ring open could see as an event: each is
// buried by the threads stuck behind its claim (src/claim-watch.ts). Found by an outside
// review, through the public API. Each scenario runs in a child process of its own, killed
// at a deadline, so that a wedged ring cannot outlive its test.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const RINGBUS = new URL('../dist/index.js', import.meta.url).href;

/**
 * Runs `body` (an ES module body; `rb` is ringbus, `spawn(code, data)` starts an eval worker
 * whose code sees `rb`, `workerData`, `parentPort`, `Worker`, and `report(x)` prints the
 * result) in a fresh `node --expose-gc`, and returns what it reported.
 */
function scenario(body: string, timeoutMs = 15_000): any {
  const prelude = `
    import { Worker } from 'node:worker_threads';
    const RB = ${JSON.stringify(RINGBUS)};
    const spawn = (code, data) => {
      const w = new Worker(\`import(\${JSON.stringify(RB)}).then(async (rb) => { const { workerData, parentPort, Worker } = await import('node:worker_threads'); \${code} })\`, { eval: true, workerData: data });
      w.on('error', (e) => report({ workerError: String(e && e.stack || e) })); // say why, rather than wait for nothing
      return w;
    };
    const report = (x) => { console.log('RESULT ' + JSON.stringify(x)); process.exit(0); };
    const message = (w, pred = () => true) => new Promise((res) => w.on('message', (m) => pred(m) && res(m)));
    const parked = 'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);';
    // A worker body: reads the README's worker way (wait + poll, never back to its event loop) until 10 events or 3 s, then posts { n }.
    const countTen = 'let n = 0; const t0 = Date.now(); while (n < 10 && Date.now() - t0 < 3000) { reader.wait(100); reader.poll(() => n++, 100); } parentPort.postMessage({ n });';
    // A producer that dies, terminated, inside an open claim.
    const dieInClaim = async (handle) => {
      const P = spawn(\`const bus = rb.attach(workerData); bus.claim('t', 8); parentPort.postMessage('claimed'); \${parked}\`, handle);
      await message(P);
      await P.terminate();
    };
    // Ten events from a live producer; resolves with what the counting worker posts.
    const publishTen = async (counter, handle) => {
      const counted = message(counter, (m) => m.n !== undefined); // listening before it can answer
      const Q = spawn(\`const bus = rb.attach(workerData); for (let i = 0; i < 10; i++) bus.publish('t', i); parentPort.postMessage('done');\`, handle);
      await message(Q);
      return counted;
    };
    // A ring whose creator keeps only its handle: after a GC no thread has it open.
    const droppedBus = async () => {
      const rb = await import(RB);
      const handle = (() => { const bus = rb.createBus({ capacity: 4096, topics: ['t'] }); bus.reader('r').close(); return bus.handle; })();
      gc(); await new Promise((r) => setTimeout(r, 20)); gc();
      return handle;
    };
  `;
  const run = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', prelude + body], {
    timeout: timeoutMs,
    encoding: 'utf8',
    cwd: fileURLToPath(new URL('..', import.meta.url)),
  });
  const line = run.stdout.split('\n').find((l) => l.startsWith('RESULT '));
  if (line === undefined) throw new Error(`scenario gave no result (status ${run.status}, signal ${run.signal}): ${run.stderr.slice(-2000)}`);
  return JSON.parse(line.slice('RESULT '.length));
}

describe('claims of dead producers', () => {
  it('a producer created by a thread with no ring open is revoked while the ring is read the README way in workers', () => {
    // main loads ringbus but opens no ring; worker A creates the bus and reads it with the
    // README's worker loop (wait + poll, never back to its event loop). Main starts a
    // producer that dies inside a claim, then one that publishes 10 events.
    const result = scenario(`
      await import(RB);
      const A = spawn(\`
        const bus = rb.createBus({ capacity: 4096, topics: ['t'] });
        const reader = bus.reader('r', { wait: 'block' });
        parentPort.postMessage({ handle: bus.handle });
        \${countTen}
      \`);
      const { handle } = await message(A, (m) => m.handle);
      await dieInClaim(handle);
      report(await publishTen(A, handle));
    `);
    expect(result.n).toBe(10);
  });

  it('a dead producer is revoked after the thread that created the bus dropped its Bus object', () => {
    // The bus is created in a function that hands out only its handle; after a GC the
    // creating thread no longer has the ring open, so it buries the dead producer nowhere.
    const result = scenario(`
      const handle = await droppedBus();
      const R = spawn(\`
        const reader = rb.attach(workerData).reader('r', { wait: 'block' });
        parentPort.postMessage('ready');
        \${countTen}
      \`, handle);
      await message(R);
      await dieInClaim(handle);
      report(await publishTen(R, handle));
    `);
    expect(result.n).toBe(10);
  });

  it('a thread that attaches after a producer died revokes its claim', () => {
    // Nobody has the ring open when the producer dies; a reader worker that attaches later
    // (for await: its event loop is free) and a producer both wait for ever behind the claim.
    const result = scenario(`
      const handle = await droppedBus();
      await dieInClaim(handle);
      await new Promise((r) => setTimeout(r, 50));
      const R = spawn(\`
        const reader = rb.attach(workerData).reader('r');
        let n = 0;
        const stop = setTimeout(() => { parentPort.postMessage({ n }); }, 3000);
        for await (const e of reader) if (++n === 10) break;
        clearTimeout(stop);
        parentPort.postMessage({ n });
      \`, handle);
      report(await publishTen(R, handle));
    `);
    expect(result.n).toBe(10);
  });

  it("a worker's helper worker that dies with it, its creator in the README's sync read loop, is revoked", () => {
    // M starts helper P, then reads the README's way without returning to its event loop, so
    // M never sees P's 'exit'. Main (ring open, event loop free) terminates M; P dies with it,
    // holding a claim: main, stuck behind it, finds P's thread gone.
    const result = scenario(`
      const rb = await import(RB);
      const bus = rb.createBus({ capacity: 4096, topics: ['t'] });
      const reader = bus.reader('r');
      const flag = new Int32Array(new SharedArrayBuffer(4));
      const M = new Worker(\`
        import { Worker, workerData } from 'node:worker_threads';
        const rb = await import(workerData.RB);
        const reader = rb.attach(workerData.h).reader('m', { wait: 'block', start: 'newest' });
        new Worker("import { workerData } from 'node:worker_threads'; const rb = await import(workerData.RB); rb.attach(workerData.h).claim('t', 8); Atomics.store(workerData.flag, 0, 1); ${'$'}{parked}", { eval: true, workerData });
        for (;;) { reader.wait(1000); reader.poll(() => {}, 100); }
      \`, { eval: true, workerData: { RB, h: bus.handle, flag } });
      const t0 = performance.now();
      while (Atomics.load(flag, 0) === 0 && performance.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 5));
      await M.terminate();
      bus.publish('t', 'after');
      const t1 = performance.now();
      let n = 0;
      while (n === 0 && performance.now() - t1 < 2000) { reader.poll(() => n++, 10); await new Promise((r) => setTimeout(r, 5)); }
      report({ claimed: Atomics.load(flag, 0), n, revoked: bus.stats().revoked });
    `);
    expect(result).toEqual({ claimed: 1, n: 1, revoked: 1 });
  });

  it('a worker created before ringbus was loaded in its creating thread is revoked when it dies', () => {
    // Worker M creates producer P, then imports ringbus (lazily, as a module loaded on
    // demand would) and attaches; P claims and M terminates it with its event loop free.
    const result = scenario(`
      const rb = await import(RB);
      const bus = rb.createBus({ capacity: 4096, topics: ['t'] });
      const reader = bus.reader('r');
      const M = new Worker(\`
        import { Worker, workerData, parentPort } from 'node:worker_threads';
        const P = new Worker("import { parentPort } from 'node:worker_threads'; parentPort.once('message', async ([RB, h]) => { const rb = await import(RB); rb.attach(h).claim('t', 8); parentPort.postMessage('claimed'); ${'$'}{parked} });", { eval: true });
        const rb = await import(workerData[0]);
        rb.attach(workerData[1]);
        P.postMessage(workerData);
        P.once('message', async () => { await P.terminate(); parentPort.postMessage('terminated'); });
      \`, { eval: true, workerData: [RB, bus.handle] });
      await message(M);
      bus.publish('t', 1);
      const t0 = performance.now();
      let n = 0;
      while (n === 0 && performance.now() - t0 < 2000) { reader.poll(() => n++, 10); await new Promise((r) => setTimeout(r, 5)); }
      report({ n, revoked: bus.stats().revoked });
    `);
    expect(result).toEqual({ n: 1, revoked: 1 });
  });
});

describe('a thread blocked in a synchronous publish', () => {
  it('goes on once its own producer worker died inside a claim: a default publish (no timeoutMs) on the main thread does not wait for ever', () => {
    // README: a dead producer "stalls nobody for long"; its own caveat (a blocked thread
    // sees its workers' deaths only back on its event loop) turns the default blocking
    // publish into a permanent deadlock: the reader waits behind the dead claim, the main
    // thread waits for the reader, and nobody else can learn of the death.
    const result = scenario(
      `
      const rb = await import(RB);
      const bus = rb.createBus({ capacity: 4096, topics: ['t'] });
      bus.reader('r').close();
      const R = spawn(\`const reader = rb.attach(workerData).reader('r', { wait: 'block' }); parentPort.postMessage('ready'); while (!reader.ended) { reader.wait(1000); reader.poll(() => {}, 256); }\`, bus.handle);
      await message(R);
      const P = spawn(\`rb.attach(workerData).claim('t', 8); parentPort.postMessage('claimed'); process.exit(3);\`, bus.handle);
      await message(P);
      setTimeout(() => report({ published: -1 }), 4000); // never runs while the publish blocks
      let published = 0;
      for (let i = 0; i < 1000; i++) { bus.publish('t', i); published++; }
      report({ published });
    `,
      6_000,
    );
    expect(result).toEqual({ published: 1000 });
  });
});
