// A keyed group member that logs every event it is handed (key * PER_KEY + n, as the raw
// payload's first int32) into shared memory before its handler returns, so that the test
// reads what it got even after terminating it.
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type BusHandle } from 'ringbus';

interface Job {
  handle: BusHandle;
  name: string;
  group: string;
  /** Int32Array: [0] the count, then per event its payload and its stamp, in the order they arrived. */
  log: SharedArrayBuffer;
  /** Int32Array [0]: the members' shared clock; each event takes a stamp from it while it is handled. */
  clock: SharedArrayBuffer;
  timeoutMs: number;
  /** Busy-work per event in microseconds: a member that always has a backlog dies in the middle of a batch. */
  workMicros?: number;
  /** close() (leave the group) once this member has logged this many events. */
  leaveAfter?: number;
}

const job = workerData as Job;
const bus = attach(job.handle, { codec: 'raw' });
const reader = bus.reader(job.name, { group: job.group, keyed: true, wait: 'block' });
const log = new Int32Array(job.log);
const clock = new Int32Array(job.clock);
let words: Int32Array | undefined;
parentPort!.postMessage({ type: 'ready' });
const deadline = performance.now() + job.timeoutMs;
let timedOut = false;
for (;;) {
  const n = reader.pollRaw((record) => {
    words ??= new Int32Array(record.bytes.buffer);
    const at = 2 * log[0] + 1;
    log[at] = words[record.offset >> 2];
    log[at + 1] = Atomics.add(clock, 0, 1);
    Atomics.add(log, 0, 1);
    if (job.workMicros !== undefined) for (const until = performance.now() + job.workMicros / 1000; performance.now() < until; );
  });
  if (job.leaveAfter !== undefined && log[0] >= job.leaveAfter) break;
  if (n > 0) continue;
  if (reader.ended) break;
  if (performance.now() > deadline) {
    timedOut = true;
    break;
  }
  reader.wait(100);
}
reader.close();
parentPort!.postMessage({ type: 'done', timedOut, received: log[0] });
