// A child process (and, in mode 'worker', a worker thread) whose only pending work is
// ringbus's async waits: nothing else keeps its event loop alive. It prints 'done <mode>'
// after the last wait; a wait that let the thread exit in the middle never gets there.
// Usage: node lone-waits.js <mode> [waits] [ms]
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { attach, createBus, TimeoutError, type BusHandle, type Reader } from 'ringbus';

type Mode = 'waitAsync' | 'worker' | 'publishAsync' | 'publishBatchAsync' | 'drain' | 'forAwait';

async function waitAsyncs(reader: Reader, waits: number, ms: number): Promise<void> {
  for (let i = 0; i < waits; i++) {
    if (await reader.waitAsync(ms)) throw new Error(`wait ${i} said there were events; nothing was published`);
  }
}

/** Every call must time out with TimeoutError: the ring stays full, the reader never reads. */
async function timeouts(mode: Mode, waits: number, ms: number): Promise<void> {
  const bus = createBus({ capacity: 4096, timeoutMs: ms });
  bus.reader('stuck');
  while (bus.tryPublish('default', 'y'));
  for (let i = 0; i < waits; i++) {
    const call =
      mode === 'publishAsync' ? bus.publishAsync('default', 'y') : mode === 'publishBatchAsync' ? bus.publishBatchAsync('default', ['y', 'y']) : bus.drain();
    const error = await call.then(
      () => null,
      (e: unknown) => e,
    );
    if (!(error instanceof TimeoutError)) throw new Error(`${mode} ${i} ended with ${String(error)} instead of a TimeoutError`);
  }
}

async function main(): Promise<void> {
  const [mode, waitsArg = '200', msArg = '20'] = process.argv.slice(2) as [Mode, string?, string?];
  const waits = Number(waitsArg);
  const ms = Number(msArg);
  if (mode === 'waitAsync') await waitAsyncs(createBus({ capacity: 4096 }).reader('main', { wait: 'async' }), waits, ms);
  else if (mode === 'worker') {
    // The worker is a group member; the main thread publishes once the worker has waited
    // out every call: it must still be there to read the event.
    const bus = createBus({ capacity: 4096 });
    const worker = new Worker(new URL(import.meta.url), { workerData: { handle: bus.handle, waits, ms } });
    const outcome = await new Promise<string>((resolve) => {
      worker.on('message', (m: string) => {
        if (m === 'waited') bus.publish('default', 'last');
        else resolve(m);
      });
      worker.on('error', (e) => resolve(`worker error: ${String(e)}`));
      worker.on('exit', (code) => resolve(`worker exited (${code}) before its result`));
    });
    if (outcome !== 'read last') throw new Error(outcome);
  } else if (mode === 'forAwait') {
    // Nothing is published and the bus is never closed: the loop must wait for ever, and
    // the process must stay alive until the parent kills it.
    const bus = createBus({ capacity: 4096 });
    const reader = bus.reader('main');
    console.log('waiting');
    for await (const event of reader) throw new Error(`nothing was published, got ${String(event.value)}`);
    throw new Error('the loop ended although the bus is open');
  } else await timeouts(mode, waits, ms);
  console.log(`done ${mode}`);
}

if (isMainThread) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
} else {
  const { handle, waits, ms } = workerData as { handle: BusHandle; waits: number; ms: number };
  void (async () => {
    const reader = attach(handle).reader('member', { group: 'g' });
    await waitAsyncs(reader, waits, ms);
    parentPort!.postMessage('waited');
    let got = '';
    while (got === '' && (await reader.waitAsync(5_000))) reader.poll((value) => (got = String(value)));
    parentPort!.postMessage(`read ${got}`);
  })();
}
