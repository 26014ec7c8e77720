// thread-stream's destination: thread-stream starts this module in its own worker and hands
// it what the producer wrote, as UTF-8 text in chunks of any length (a 64-byte event may be
// split between two chunks). Every event is checked (all 64 bytes, the order) and counted;
// the main thread drives the runs and hears the results over `port`, as with any consumer.
import { Writable } from 'node:stream';
import type { MessagePort } from 'node:worker_threads';
import { CheckFailed, Checker } from '../check.js';
import type { ConsumerDone, Failed, RunCommand } from './protocol.js';

export interface SinkData {
  port: MessagePort;
  stallMs: number;
}

export default async function sink({ port, stallMs }: SinkData): Promise<Writable> {
  const checker = new Checker('raw64', 1, true);
  let n = 0;
  let running = false;
  let stopped = false;
  let carry = '';
  let stall: NodeJS.Timeout | undefined;
  const stop = (m: ConsumerDone | Failed) => {
    running = false;
    clearTimeout(stall);
    if (stopped) return;
    if (m.type === 'failed') stopped = true;
    port.postMessage(m);
  };
  port.on('message', (msg: RunCommand) => {
    if (msg.type !== 'run') return;
    checker.reset();
    n = msg.n;
    running = true;
    stall = setTimeout(() => stop({ type: 'failed', message: `no event for ${stallMs} ms after ${checker.count} of ${n} events (lost?)` }), stallMs);
    port.postMessage({ type: 'ready' });
  });
  const take = (chunk: string): void => {
    if (stopped) return;
    if (!running) return stop({ type: 'failed', message: `${chunk.length} bytes arrived outside a run (more than were sent?)` });
    const s = carry.length > 0 ? carry + chunk : chunk;
    const whole = s.length - (s.length % 64);
    try {
      for (let at = 0; at < whole; at += 64) checker.text(s, at);
    } catch (err) {
      return stop({ type: 'failed', message: err instanceof CheckFailed ? err.message : `sink threw: ${(err as Error).stack ?? err}` });
    }
    carry = s.slice(whole);
    if (checker.count > n || (checker.count === n && carry.length > 0)) stop({ type: 'failed', message: `more than the ${n} events sent arrived` });
    else if (checker.count === n) stop({ type: 'done', t1: process.hrtime.bigint(), count: checker.count, checksum: checker.checksum });
    else stall?.refresh();
  };
  port.postMessage({ type: 'attached' });
  return new Writable({
    decodeStrings: false,
    highWaterMark: 1 << 30, // write() returns true: thread-stream reads on at once
    write(chunk: string, _encoding, callback) {
      take(chunk);
      callback();
    },
  });
}
