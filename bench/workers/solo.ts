// Single-thread references: producer and consumer in this one worker, through an
// EventEmitter (the listener runs inside emit) or an array queue (push, then shift in
// chunks of 1024). The same checks as every other consumer.
import { EventEmitter } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { CheckFailed, Checker } from '../check.js';
import { corruptRaw, corruptTick, PAYLOAD_BYTES, type PayloadKind, RawWriter, SeqPlan, tick, type Tick } from '../payload.js';
import type { Fault } from '../payload.js';
import type { RunCommand } from './protocol.js';

export interface SoloData {
  transport: 'eventEmitter' | 'arrayQueue';
  kind: PayloadKind;
  fault: Fault;
}

export interface SoloDone {
  type: 'done';
  t0: bigint;
  t1: bigint;
  count: number;
  checksum: number;
}

const data = workerData as SoloData;
const port = parentPort!;
const checker = new Checker(data.kind, 1, true);
const plan = new SeqPlan(0, 1, data.fault);
const bytes = PAYLOAD_BYTES[data.kind];
const words = bytes >> 2;
const writer = bytes > 0 ? new RawWriter(bytes) : undefined;

/** Event i as a new Int32Array (raw) or object. */
function eventAt(i: number, into?: Int32Array): Int32Array | Tick {
  if (!writer) {
    const v = tick(plan.seq(i));
    return plan.corrupt(i) ? corruptTick(v) : v;
  }
  const w = into ?? new Int32Array(words);
  writer.write(new Uint8Array(w.buffer), w, 0, plan.seq(i));
  if (plan.corrupt(i)) corruptRaw(w, 0);
  return w;
}

const consume = writer ? (e: Int32Array | Tick) => checker.raw(e as Int32Array, 0, bytes) : (e: Int32Array | Tick) => checker.object(e as Tick);

function runEmitter(n: number): void {
  const emitter = new EventEmitter();
  emitter.on('event', consume);
  // a listener runs inside emit(): one raw buffer is reused, as a careful user would
  const reused = writer ? new Int32Array(words) : undefined;
  for (let i = 0; i < n; i++) emitter.emit('event', eventAt(i, reused));
}

function runQueue(n: number): void {
  const queue: (Int32Array | Tick)[] = [];
  for (let i = 0; i < n; ) {
    const end = Math.min(n, i + 1024);
    for (; i < end; i++) queue.push(eventAt(i));
    while (queue.length > 0) consume(queue.shift()!);
  }
}

port.on('message', (msg: RunCommand) => {
  if (msg.type !== 'run') return;
  checker.reset();
  plan.arm(msg.n);
  try {
    const t0 = process.hrtime.bigint();
    if (data.transport === 'eventEmitter') runEmitter(msg.n);
    else runQueue(msg.n);
    const t1 = process.hrtime.bigint();
    port.postMessage({ type: 'done', t0, t1, count: checker.count, checksum: checker.checksum } satisfies SoloDone);
  } catch (err) {
    port.postMessage({ type: 'failed', message: err instanceof CheckFailed ? err.message : `threw: ${(err as Error).stack ?? err}` });
  }
});
port.postMessage({ type: 'attached' });
