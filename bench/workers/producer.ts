// Producer worker: publishes `n` 64-byte events per run, over the ring or over postMessage.
// Timestamps come from process.hrtime.bigint(): libuv's monotonic clock, one clock for
// every thread of the process, so the reader's "last event" minus this "first publish"
// is the transfer time.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { attach, type BusHandle } from 'ringbus';
import { EVENT_BYTES, type Fault, initPayload, stampPayload, stampWords } from '../payload.js';

export interface ProducerData {
  transport: 'ring' | 'postMessage';
  handle?: BusHandle;
  port?: MessagePort;
  /**
   * ring: 'batch' publishes `batch` events per publishBatch(); 'claim' is claim + write +
   * commit per event; 'raw' claims `batch` records at once (bus.claim's count), writes each
   * event in place as 16 Int32 words and commits them together: no copy, no allocation
   * per event.
   */
  mode: 'batch' | 'claim' | 'raw';
  batch: number;
  wait: 'block' | 'yield' | 'spin';
  topic: string;
  fault: Fault;
}

export interface ProducerRun {
  type: 'run';
  n: number;
}

export interface ProducerDone {
  type: 'done';
  t0: bigint;
  t1: bigint;
  sent: number;
}

const data = workerData as ProducerData;
const port = parentPort!;

let faultAt = -1;
let restoreAt = -1;

/** Stamps event `i` of a run, injecting the requested fault once in the middle. */
function stamp(view: DataView, offset: number, i: number): void {
  if (i === faultAt) {
    if (data.fault === 'corrupt') {
      stampPayload(view, offset, i);
      view.setInt32(offset + 20, view.getInt32(offset + 20, true) ^ 0x100, true);
    } else {
      stampPayload(view, offset, i + 1); // lose: i is never sent; reorder: i+1 goes first
    }
    return;
  }
  if (i === restoreAt) {
    initPayload(view, offset);
    stampPayload(view, offset, data.fault === 'reorder' ? i - 1 : i);
    return;
  }
  stampPayload(view, offset, i);
}

/** stamp() for the raw variant: the same faults, written as words. */
function stampFaulty(words: Int32Array, w: number, i: number): void {
  if (i === faultAt) {
    if (data.fault === 'corrupt') {
      stampWords(words, w, i);
      words[w + 5] ^= 0x100; // bit 8 of bytes 20..23, as stamp() flips it
    } else {
      stampWords(words, w, i + 1);
    }
  } else {
    stampWords(words, w, i === restoreAt && data.fault === 'reorder' ? i - 1 : i);
  }
}

function armFault(n: number): void {
  if (data.fault === 'none') return;
  faultAt = n >> 1;
  restoreAt = data.fault === 'lose' ? -1 : faultAt + 1;
}

let runRing: (n: number) => void;

if (data.transport === 'ring') {
  const bus = attach(data.handle!, { codec: 'raw', wait: data.wait });
  const topic = data.topic;
  if (data.mode === 'batch') {
    const batch = data.batch;
    const payloads: Uint8Array[] = [];
    const views: DataView[] = [];
    for (let i = 0; i < batch; i++) {
      const p = new Uint8Array(EVENT_BYTES);
      const v = new DataView(p.buffer);
      initPayload(v);
      payloads.push(p);
      views.push(v);
    }
    runRing = (n) => {
      let i = 0;
      while (i < n) {
        const k = Math.min(batch, n - i);
        for (let j = 0; j < k; j++) stamp(views[j], 0, i + j);
        bus.publishBatch(topic, k === batch ? payloads : payloads.slice(0, k));
        i += k;
      }
    };
  } else if (data.mode === 'raw') {
    const batch = data.batch;
    const full = { count: batch };
    let memory: ArrayBufferLike | undefined;
    let words: Int32Array = new Int32Array(0);
    runRing = (n) => {
      let i = 0;
      while (i < n) {
        const k = Math.min(batch, n - i);
        const claim = bus.claim(topic, EVENT_BYTES, k === batch ? full : { count: k });
        const bytes = claim.bytes;
        if (bytes.buffer !== memory) {
          memory = bytes.buffer;
          words = new Int32Array(memory);
        }
        // bytes.byteOffset and the stride are multiples of 16: whole words, 16-byte aligned.
        let w = bytes.byteOffset >> 2;
        const step = claim.stride >> 2;
        const end = i + k;
        if ((faultAt >= i && faultAt < end) || (restoreAt >= i && restoreAt < end)) {
          for (; i < end; i++, w += step) stampFaulty(words, w, i);
        } else {
          for (; i < end; i++, w += step) stampWords(words, w, i);
        }
        claim.commit();
      }
    };
  } else {
    const template = new Uint8Array(EVENT_BYTES);
    initPayload(new DataView(template.buffer));
    let ring: DataView | undefined;
    runRing = (n) => {
      for (let i = 0; i < n; i++) {
        const claim = bus.claim(topic, EVENT_BYTES);
        const bytes = claim.bytes;
        ring ??= new DataView(bytes.buffer);
        bytes.set(template);
        stamp(ring, bytes.byteOffset, i);
        claim.commit();
      }
    };
  }
}

function runPostMessage(n: number): void {
  const out = data.port!;
  const payload = new Uint8Array(EVENT_BYTES);
  const view = new DataView(payload.buffer);
  initPayload(view);
  for (let i = 0; i < n; i++) {
    stamp(view, 0, i);
    out.postMessage(payload); // structured clone copies the 64 bytes: the array is reused
  }
}

port.on('message', (msg: ProducerRun) => {
  if (msg.type !== 'run') return;
  armFault(msg.n);
  const t0 = process.hrtime.bigint();
  if (data.transport === 'ring') runRing(msg.n);
  else runPostMessage(msg.n);
  const t1 = process.hrtime.bigint();
  faultAt = restoreAt = -1;
  port.postMessage({ type: 'done', t0, t1, sent: msg.n } satisfies ProducerDone);
});
port.postMessage({ type: 'attached' });
