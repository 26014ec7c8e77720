// Latency roles. One-way: a sender publishes 64-byte events at a fixed rate (it spins until
// each event's time), each carrying its send time (process.hrtime, one clock for the whole
// process); the receiver records now − send time per event. Ping-pong: a pinger sends an
// event and waits for its echo before sending the next; it records the round trip.
// Every receiver checks the sequence numbers (none lost, none reordered).
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { attach, type BusHandle, type RawRecord } from 'ringbus';
import type { WaitName } from '../flow.js';

export type LatencyRole = 'ring-send' | 'ring-recv' | 'port-send' | 'ring-ping' | 'ring-pong' | 'port-ping' | 'port-pong';

export interface LatencyData {
  role: LatencyRole;
  handle?: BusHandle;
  port?: MessagePort;
  /** Absent: the library's default. */
  wait?: WaitName;
  stallMs: number;
}

export interface LatencyRun {
  type: 'run';
  n: number;
  /** One-way: events per second. */
  rate: number;
}

export interface LatencyDone {
  type: 'done';
  /** Nanoseconds per event (one-way) or per round trip; empty for senders. */
  samples: Float64Array;
  seconds: number;
}

const data = workerData as LatencyData;
const port = parentPort!;
const now = () => Number(process.hrtime.bigint());

class Failure extends Error {}

/** Writes seq and the send time into a 64-byte event at byte `at` of `view`. */
function stamp(view: DataView, at: number, seq: number, t: number): void {
  view.setUint32(at, seq, true);
  view.setFloat64(at + 8, t, true);
  view.setInt32(at + 60, ~seq, true);
}

function check(view: DataView, at: number, expected: number): number {
  const seq = view.getUint32(at, true);
  if (seq !== expected || view.getInt32(at + 60, true) !== ~seq)
    throw new Failure(`expected event ${expected}, got ${seq}${view.getInt32(at + 60, true) !== ~seq ? ' (corrupt)' : ''}`);
  return view.getFloat64(at + 8, true);
}

function paced(n: number, rate: number, send: (seq: number, t: number) => void): void {
  const step = 1e9 / rate;
  const start = now();
  for (let i = 0; i < n; i++) {
    const due = start + i * step;
    let t = now();
    while (t < due) t = now();
    send(i, t);
  }
}

let run: (msg: LatencyRun) => Promise<LatencyDone> | LatencyDone;

if (data.role.startsWith('ring')) {
  const wait = data.wait === undefined ? {} : { wait: data.wait };
  const bus = attach(data.handle!, { codec: 'raw', ...wait });
  let view: DataView | undefined;
  const publish = (topic: string, seq: number, t: number) => {
    const claim = bus.claim(topic, 64);
    view ??= new DataView(claim.bytes.buffer);
    stamp(view, claim.bytes.byteOffset, seq, t);
    claim.commit();
  };
  const inTopic = data.role === 'ring-ping' ? 'pong' : 'ping';
  const reader = data.role === 'ring-send' ? undefined : bus.reader(data.role, { topics: [inTopic], ...wait, batchSize: 64 });
  /** Handles events until `count` were seen; `each(record's view, offset, seq)`. */
  const receive = (count: number, each: (v: DataView, at: number, seq: number) => void, from = 0) => {
    let seen = from;
    const handler = (rec: RawRecord) => {
      const v = (view ??= new DataView(rec.bytes.buffer));
      each(v, rec.bytes.byteOffset + rec.offset, seen++);
    };
    while (seen < count) {
      if (reader!.pollRaw(handler, count - seen) > 0) continue;
      if (!reader!.wait(data.stallMs)) throw new Failure(`no event for ${data.stallMs} ms after ${seen} of ${count}`);
    }
  };
  run = ({ n, rate }) => {
    const samples = new Float64Array(data.role === 'ring-recv' || data.role === 'ring-ping' ? n : 0);
    const t0 = now();
    if (data.role === 'ring-send') paced(n, rate, (seq, t) => publish('ping', seq, t));
    else if (data.role === 'ring-recv') receive(n, (v, at, seq) => (samples[seq] = now() - check(v, at, seq)));
    else if (data.role === 'ring-pong') receive(n, (v, at, seq) => publish('pong', seq, check(v, at, seq)));
    else {
      for (let i = 0; i < n; i++) {
        publish('ping', i, now());
        receive(i + 1, (v, at, seq) => (samples[seq] = now() - check(v, at, seq)), i);
      }
    }
    return { type: 'done', samples, seconds: (now() - t0) / 1e9 };
  };
} else {
  const out = data.port!;
  const u8 = new Uint8Array(64);
  const view = new DataView(u8.buffer);
  if (data.role === 'port-send') {
    run = ({ n, rate }) => {
      const t0 = now();
      paced(n, rate, (seq, t) => {
        stamp(view, 0, seq, t);
        out.postMessage(u8);
      });
      return { type: 'done', samples: new Float64Array(0), seconds: (now() - t0) / 1e9 };
    };
  } else if (data.role === 'port-pong') {
    out.on('message', (m: Uint8Array) => out.postMessage(m)); // echo
    run = ({ n }) => ({ type: 'done', samples: new Float64Array(0), seconds: n * 0 });
  } else {
    run = ({ n }) =>
      new Promise<LatencyDone>((resolve, reject) => {
        const samples = new Float64Array(n);
        let i = 0;
        const t0 = now();
        const stall = setTimeout(() => reject(new Failure(`no echo for ${data.stallMs} ms after ${i} of ${n}`)), data.stallMs);
        const ping = () => {
          stamp(view, 0, i, now());
          out.postMessage(u8);
        };
        const onEcho = (m: Uint8Array) => {
          try {
            const v = new DataView(m.buffer, m.byteOffset, 64);
            samples[i] = now() - check(v, 0, i);
          } catch (err) {
            out.off('message', onEcho);
            clearTimeout(stall);
            reject(err);
            return;
          }
          if (++i < n) {
            if ((i & 1023) === 0) stall.refresh();
            ping();
            return;
          }
          out.off('message', onEcho);
          clearTimeout(stall);
          resolve({ type: 'done', samples, seconds: (now() - t0) / 1e9 });
        };
        out.on('message', onEcho);
        ping();
      });
  }
}

port.on('message', async (msg: LatencyRun) => {
  if (msg.type !== 'run') return;
  try {
    const done = await run(msg);
    port.postMessage(done, [done.samples.buffer as ArrayBuffer]);
  } catch (err) {
    port.postMessage({ type: 'failed', message: `${data.role}: ${err instanceof Failure ? err.message : ((err as Error).stack ?? err)}` });
  }
});
port.postMessage({ type: 'attached' });
