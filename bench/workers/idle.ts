// idle-cpu roles: a reader waiting on a bus nobody publishes to, or a producer blocked on a
// full ring (a gating reader in the main thread never reads). On 'go' each sleeps 1 ms (so
// the kernel has just accounted its time), reads its own thread's CPU time, waits for
// `ms`, and reads it again. The wait must last its whole time and end empty-handed: a
// reader that returns early, or a publish that gets through, fails the run.
import { readFileSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { attach, type BusHandle, TimeoutError } from 'ringbus';
import type { WaitName } from '../flow.js';

export interface IdleData {
  role: 'reader' | 'producer';
  handle: BusHandle;
  /** Absent: the library's default. */
  wait?: WaitName;
}

export interface IdleGo {
  type: 'go';
  ms: number;
}

export interface IdleDone {
  type: 'done';
  cpuNs: number;
  wallNs: number;
  /** Where cpuNs comes from: this thread's (Linux) or the whole process's (elsewhere: an upper bound). */
  source: 'thread' | 'process';
}

const data = workerData as IdleData;
const port = parentPort!;
const wait = data.wait === undefined ? {} : { wait: data.wait };
const bus = attach(data.handle, { codec: 'raw', ...wait });
const now = () => Number(process.hrtime.bigint());

const SCHEDSTAT = '/proc/thread-self/schedstat';
let source: IdleDone['source'] = 'thread';
/** CPU time of this thread in ns: /proc/thread-self/schedstat's first field (Linux); else the process's. */
function cpuNs(): number {
  if (source === 'thread') {
    try {
      return Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[0]);
    } catch {
      source = 'process';
    }
  }
  const u = process.cpuUsage();
  return (u.user + u.system) * 1000;
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const payload = new Uint8Array(64);
let idle: (ms: number) => void;
if (data.role === 'reader') {
  const reader = bus.reader('idle', { ...wait });
  idle = (ms) => {
    if (reader.wait(ms)) throw new Error('the idle reader was woken with something to read, but nothing is published');
  };
} else {
  let filled = 0;
  while (bus.tryPublish('t', payload)) filled++;
  if (filled === 0) throw new Error('the ring took no event at all');
  idle = (ms) => {
    try {
      bus.publish('t', payload, { timeoutMs: ms });
    } catch (err) {
      if (err instanceof TimeoutError) return;
      throw err;
    }
    throw new Error('a publish into the full ring got through: the gating reader never reads');
  };
}

port.on('message', (msg: IdleGo) => {
  if (msg.type !== 'go') return;
  try {
    sleepMs(1);
    const c0 = cpuNs();
    const t0 = now();
    idle(msg.ms);
    const t1 = now();
    const c1 = cpuNs();
    if (t1 - t0 < msg.ms * 0.95e6) throw new Error(`the ${data.role} waited ${((t1 - t0) / 1e6).toFixed(1)} ms of the ${msg.ms} ms it was given`);
    port.postMessage({ type: 'done', cpuNs: c1 - c0, wallNs: t1 - t0, source } satisfies IdleDone);
  } catch (err) {
    port.postMessage({ type: 'failed', message: `${data.role}: ${(err as Error).stack ?? err}` });
  }
});
port.postMessage({ type: 'attached' });
