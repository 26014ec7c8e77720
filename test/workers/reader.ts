// Reads self-checking payloads and reports what arrived: per-producer order is checked
// as it goes (for readers that see everything), and a count per event is returned so the
// test can prove exactly-once across members of a group.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type BusHandle, type ReaderOptions } from 'ringbus';
import { check } from './payload.js';

interface Job {
  handle: BusHandle;
  name: string;
  options: ReaderOptions;
  producers: number;
  /** Events each producer publishes: ids are producer * perProducer + seq. */
  perProducer: number;
  maxExtra: number;
  /** Stop after this many events; otherwise read until the bus is closed and drained. */
  stopAfter?: number;
  /** Per-producer order is only promised to readers that see every event (not to group members). */
  checkOrder: boolean;
  /** Set flags[seq] before returning from the handler (another reader depends on this one). */
  markFlags?: SharedArrayBuffer;
  /** Fail if flags[seq] is not yet set when the event arrives. */
  requireFlags?: SharedArrayBuffer;
  /** Busy-work per event in microseconds, to make a reader slow. */
  workMicros?: number;
  timeoutMs: number;
  /** How the reader leaves after its result: close() (default) or unsubscribe(). */
  leave?: 'close' | 'unsubscribe';
}

const job = workerData as Job;
const bus = attach(job.handle, { codec: 'raw' });
const reader = bus.reader<Uint8Array>(job.name, { wait: 'block', ...job.options });
const counts = new Uint8Array(job.producers * job.perProducer);
const last = new Array<number>(job.producers).fill(-1);
const mark = job.markFlags ? new Uint8Array(job.markFlags) : undefined;
const require = job.requireFlags ? new Uint8Array(job.requireFlags) : undefined;
const errors: string[] = [];
let received = 0;
let lastSeq = -1;
const fail = (message: string) => {
  if (errors.length < 10) errors.push(message);
};

const handle = (bytes: Uint8Array, _topic: string, seq: number) => {
  if (seq <= lastSeq) fail(`bus seq ${seq} after ${lastSeq}`);
  lastSeq = seq;
  if (require && require[seq] !== 1) fail(`event ${seq} arrived before the reader it depends on committed it`);
  let producer: number, n: number;
  try {
    [producer, n] = check(bytes, job.maxExtra);
  } catch (e) {
    fail((e as Error).message);
    return;
  }
  if (producer >= job.producers || n >= job.perProducer) return fail(`invented event ${producer}/${n}`);
  if (job.checkOrder && n !== last[producer] + 1) fail(`producer ${producer}: seq ${n} after ${last[producer]}`);
  last[producer] = n;
  const id = producer * job.perProducer + n;
  if (counts[id] < 255) counts[id]++;
  if (job.workMicros) {
    const until = performance.now() + job.workMicros / 1000;
    while (performance.now() < until);
  }
  if (mark) mark[seq] = 1;
  received++;
};

parentPort!.postMessage({ type: 'ready' });
const deadline = performance.now() + job.timeoutMs;
const target = job.stopAfter ?? Infinity;
while (received < target) {
  reader.poll(handle, Math.min(256, target - received));
  if (received >= target) break;
  if (!reader.wait(Math.max(1, deadline - performance.now()))) {
    if (performance.now() >= deadline) fail(`timed out after ${received} events`);
    break; // closed and drained, or timed out
  }
}
parentPort!.postMessage({ type: 'done', received, errors, counts, last, stats: reader.stats(), missed: reader.missed }, [counts.buffer]);
if (job.leave === 'unsubscribe') reader.unsubscribe();
else reader.close();
