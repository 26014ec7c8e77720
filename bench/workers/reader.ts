// Reader worker: receives `n` events per run, checks every one (length, sequence, tail
// guard) and folds every byte into a checksum, then reports when it saw the last one.
import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import { attach, type BusHandle, type RawRecord } from 'ringbus';
import { EVENT_BYTES, foldEvent, hashWords, verifyEvent, verifyWords } from '../payload.js';

export interface ReaderData {
  transport: 'ring' | 'postMessage';
  handle?: BusHandle;
  port?: MessagePort;
  wait: 'block' | 'yield' | 'spin';
  /**
   * ring: 'poll' gets each payload as a Uint8Array view and checks it through DataView;
   * 'pollRaw' gets one reused record (the ring's memory and an offset) and checks the
   * event as 16 Int32 words of an Int32Array over the whole memory. Same checks either way.
   */
  api?: 'poll' | 'pollRaw';
  /** Most events per poll (and the reader's batchSize). */
  pollMax: number;
  /** A run fails when no event arrives for this long. */
  stallMs: number;
}

export interface ReaderRun {
  type: 'run';
  n: number;
}

export interface ReaderDone {
  type: 'done';
  t1: bigint;
  count: number;
  checksum: number;
}

export interface ReaderFailed {
  type: 'failed';
  message: string;
}

const data = workerData as ReaderData;
const port = parentPort!;

class CheckFailed extends Error {}

let expected = 0;
let checksum = 0;

function fail(message: string): never {
  throw new CheckFailed(message);
}

function report(done: ReaderDone | ReaderFailed): void {
  port.postMessage(done);
}

if (data.transport === 'ring') {
  const bus = attach(data.handle!, { codec: 'raw', wait: data.wait });
  const pollMax = data.pollMax;
  // Opened before the producer is told to start: a gating reader, so nothing is overwritten
  // before it has been read. batchSize = pollMax because wait() takes its batch with
  // batchSize events at most, and the poll after it delivers no more than that batch.
  const reader = bus.reader<Uint8Array>('bench', { wait: data.wait, batchSize: pollMax });
  let view: DataView | undefined;
  const handler = (payload: Uint8Array): void => {
    view ??= new DataView(payload.buffer);
    const offset = payload.byteOffset;
    const problem = verifyEvent(view, offset, payload.length, expected);
    if (problem !== null) fail(problem);
    checksum = foldEvent(checksum, view, offset);
    expected++;
  };
  let memory: Uint8Array | undefined;
  let words: Int32Array = new Int32Array(0);
  let base = 0;
  const rawHandler = (rec: RawRecord): void => {
    const bytes = rec.bytes;
    if (bytes !== memory) {
      memory = bytes;
      words = new Int32Array(bytes.buffer);
      base = bytes.byteOffset;
    }
    const at = base + rec.offset;
    if ((at & 15) !== 0) fail(`event #${expected} lies at byte ${at} of the ring's memory: not 16-byte aligned`);
    const w = at >> 2;
    const e = expected;
    // The sequence number (words 0 and 1) and the tail guard (word 15), as verifyEvent checks
    // them; verifyWords describes a failure (and handles sequence numbers past 32 bits).
    if (rec.length !== EVENT_BYTES || words[w] !== (e | 0) || words[w + 15] !== ~e || (words[w + 1] !== 0 || e > 0xffffffff)) {
      const problem = verifyWords(words, w, rec.length, e);
      if (problem !== null) fail(problem);
    }
    checksum = (Math.imul(checksum, 31) + hashWords(words, w)) | 0;
    expected = e + 1;
  };
  const raw = data.api === 'pollRaw';

  port.on('message', (msg: ReaderRun | { type: 'close' }) => {
    if (msg.type === 'close') {
      // The main thread closed the bus after the last run: nothing may be left over.
      let extra = 0;
      while (reader.wait(data.stallMs)) extra += raw ? reader.pollRaw(() => {}, pollMax) : reader.poll(() => {}, pollMax);
      report(extra === 0 ? { type: 'done', t1: process.hrtime.bigint(), count: 0, checksum: 0 } : { type: 'failed', message: `${extra} events arrived after the last run` });
      return;
    }
    expected = 0;
    checksum = 0;
    const n = msg.n;
    port.postMessage({ type: 'ready' });
    try {
      while (expected < n) {
        const max = Math.min(pollMax, n - expected);
        if ((raw ? reader.pollRaw(rawHandler, max) : reader.poll(handler, max)) > 0) continue;
        if (!reader.wait(data.stallMs)) {
          fail(bus.closed ? `the bus closed after ${expected} of ${n} events` : `no event for ${data.stallMs} ms after ${expected} of ${n} events (lost?)`);
        }
      }
      report({ type: 'done', t1: process.hrtime.bigint(), count: expected, checksum });
    } catch (err) {
      report({ type: 'failed', message: err instanceof CheckFailed ? err.message : `reader threw: ${(err as Error).stack ?? err}` });
    }
  });
} else {
  const input = data.port!;
  let n = 0;
  let running = false;
  let failed = false;
  let stall: NodeJS.Timeout | undefined;
  const stop = (result: ReaderDone | ReaderFailed): void => {
    running = false;
    if (failed) return;
    failed = result.type === 'failed';
    clearTimeout(stall);
    report(result);
  };
  input.on('message', (payload: Uint8Array) => {
    if (!running) {
      stop({ type: 'failed', message: 'an event arrived outside a run' });
      return;
    }
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    const problem = verifyEvent(view, 0, payload.length, expected);
    if (problem !== null) {
      stop({ type: 'failed', message: problem });
      return;
    }
    checksum = foldEvent(checksum, view, 0);
    expected++;
    if (expected === n) stop({ type: 'done', t1: process.hrtime.bigint(), count: expected, checksum });
    else if ((expected & 0xffff) === 0) stall?.refresh();
  });
  port.on('message', (msg: ReaderRun | { type: 'close' }) => {
    if (msg.type === 'close') {
      input.close();
      report({ type: 'done', t1: process.hrtime.bigint(), count: 0, checksum: 0 });
      return;
    }
    expected = 0;
    checksum = 0;
    n = msg.n;
    running = true;
    stall = setTimeout(() => stop({ type: 'failed', message: `no event for ${data.stallMs} ms after ${expected} of ${n} events (lost?)` }), data.stallMs);
    port.postMessage({ type: 'ready' });
  });
}
port.postMessage({ type: 'attached' });
