// Consumer worker: receives the events of each run over the ring, MessagePorts, a
// BroadcastChannel, ringbuf.js or the plain-JS ring, checks every one (check.ts) and reports
// when it has seen the last one.
import { parentPort, workerData } from 'node:worker_threads';
import { RingBuffer } from 'ringbuf.js';
import { attach, type RawRecord } from 'ringbus';
import { CheckFailed, Checker, fail } from '../check.js';
import type { Tick } from '../payload.js';
import { PlainSabConsumer } from '../plain-sab.js';
import { broadcastSource, PortConsumer, portSource } from '../port-consumer.js';
import type { CloseCommand, ConsumerData, ConsumerDone, Failed, RunCommand } from './protocol.js';

const data = workerData as ConsumerData;
const port = parentPort!;
const checker = new Checker(data.kind, data.producers, data.strict);
const now = () => process.hrtime.bigint();

function report(m: { type: 'ready' } | ConsumerDone | Failed): void {
  port.postMessage(m);
}

function failed(err: unknown): Failed {
  return { type: 'failed', message: err instanceof CheckFailed ? err.message : `consumer threw: ${(err as Error).stack ?? err}` };
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** A consumer that pulls: poll(max) returns how many events it handled, wait(ms) whether more may come. */
function pullLoop(poll: (max: number) => number, wait: (ms: number) => boolean, maxBatch: number, closedMessage: () => string | undefined): void {
  const shared = data.transport === 'ring' && data.shared ? new Int32Array(data.shared) : undefined;
  port.on('message', (msg: RunCommand | CloseCommand) => {
    if (msg.type === 'close') {
      // The main thread closed the bus after the last run: nothing may be left over.
      let extra = 0;
      while (wait(data.stallMs)) extra += poll(maxBatch);
      report(extra === 0 ? { type: 'done', t1: now(), count: 0, checksum: 0 } : { type: 'failed', message: `${extra} events arrived after the last run` });
      return;
    }
    checker.reset();
    const n = msg.n;
    report({ type: 'ready' });
    try {
      if (shared) {
        // A group member: runs until the members together consumed n events.
        let t1 = now();
        let last = performance.now();
        while (Atomics.load(shared, 0) < n) {
          const got = poll(maxBatch);
          if (got > 0) {
            Atomics.add(shared, 0, got);
            t1 = now();
            last = performance.now();
          } else if (!wait(20) && performance.now() - last > data.stallMs) {
            fail(`no event for ${data.stallMs} ms; the group consumed ${Atomics.load(shared, 0)} of ${n} events (lost?)`);
          }
        }
        report({ type: 'done', t1, count: checker.count, checksum: checker.checksum });
        return;
      }
      while (checker.count < n) {
        if (poll(Math.min(maxBatch, n - checker.count)) > 0) continue;
        if (!wait(data.stallMs)) fail(closedMessage() ?? `no event for ${data.stallMs} ms after ${checker.count} of ${n} events (lost?)`);
      }
      report({ type: 'done', t1: now(), count: checker.count, checksum: checker.checksum });
    } catch (err) {
      report(failed(err));
    }
  });
}

if (data.transport === 'ring') {
  const bus = attach(data.handle, { codec: data.kind === 'msgpack' ? 'structured' : 'raw', wait: data.wait });
  // Opened before any producer starts: a gating reader (or group member), so nothing is
  // overwritten before it has been read. batchSize = pollMax: wait() takes its batch with
  // batchSize events at most, and the poll after it delivers no more than that batch.
  const reader = bus.reader<Uint8Array | Tick>(data.name, {
    wait: data.wait,
    batchSize: data.pollMax,
    ...(data.group !== undefined && { group: data.group, keyed: data.keyed }),
  });
  let memory: Uint8Array | ArrayBufferLike | undefined;
  let words: Int32Array = new Int32Array(0);
  let base = 0;
  // pollRaw: one reused record; the event is read as words of the ring's whole memory.
  const rawHandler = (rec: RawRecord): void => {
    const bytes = rec.bytes;
    if (bytes !== memory) {
      memory = bytes;
      words = new Int32Array(bytes.buffer);
      base = bytes.byteOffset;
    }
    const at = base + rec.offset;
    if ((at & 3) !== 0) fail(`event #${checker.count} lies at byte ${at} of the ring's memory: not word-aligned`);
    checker.raw(words, at >> 2, rec.length);
  };
  // poll, raw codec: each payload is a view of the ring.
  const viewHandler = (payload: Uint8Array): void => {
    if (payload.buffer !== memory) {
      memory = payload.buffer;
      words = new Int32Array(payload.buffer);
    }
    checker.raw(words, payload.byteOffset >> 2, payload.length);
  };
  const objectHandler = (v: Tick): void => checker.object(v);
  const handler = (data.kind === 'msgpack' ? objectHandler : viewHandler) as (v: Uint8Array | Tick) => void;
  const raw = data.api === 'pollRaw';
  pullLoop(
    (max) => (raw ? reader.pollRaw(rawHandler, max) : reader.poll(handler, max)),
    (ms) => reader.wait(ms),
    data.pollMax,
    () => (bus.closed ? `the bus closed after ${checker.count} events` : undefined),
  );
} else if (data.transport === 'ringbufjs') {
  const rb = new RingBuffer(data.sab, Uint8Array as never);
  const bytes = checker.bytes;
  const buf = new Uint8Array(Math.max(1, Math.floor(65536 / bytes)) * bytes);
  const w = new Int32Array(buf.buffer);
  const perPop = buf.length / bytes;
  let idle = 0;
  pullLoop(
    (max) => {
      // pop only whole events: the ring is a byte stream
      const k = Math.min(max, perPop, Math.floor(rb.available_read() / bytes));
      if (k === 0) return 0;
      const got = rb.pop(buf as never, k * bytes);
      if (got !== k * bytes) fail(`ringbuf.js popped ${got} bytes of the ${k * bytes} it said were there`);
      for (let i = 0; i < k; i++) checker.raw(w, i * checker.words, bytes);
      return k;
    },
    (ms) => {
      // ringbuf.js has no wait: spin a little, then sleep in 50 µs slices
      const until = performance.now() + ms;
      while (rb.available_read() < bytes) {
        if (++idle > 200) sleepMs(0.05);
        if (performance.now() > until) return false;
      }
      idle = 0;
      return true;
    },
    perPop,
    () => undefined,
  );
} else if (data.transport === 'plainSab') {
  const ring = new PlainSabConsumer(data.sab);
  const each = (w: Int32Array, at: number) => checker.raw(w, at, 64);
  pullLoop(
    (max) => ring.poll(max, each),
    (ms) => ring.wait(ms),
    1024,
    () => undefined,
  );
} else {
  const sources = data.transport === 'broadcast' ? [broadcastSource(data.channel)] : data.ports.map(portSource);
  const consumer = new PortConsumer(checker, sources, data.stallMs, report);
  port.on('message', (msg: RunCommand | CloseCommand) => {
    if (msg.type === 'close') {
      consumer.close();
      report({ type: 'done', t1: now(), count: 0, checksum: 0 });
    } else consumer.start(msg.n);
  });
}
port.postMessage({ type: 'attached' });
