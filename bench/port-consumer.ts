// A consumer fed by messages (MessagePorts, a BroadcastChannel), in a worker or in the main
// thread: checks every event of every message and reports 'done' once it has the n events of
// the run.
import { BroadcastChannel, type MessagePort } from 'node:worker_threads';
import { CheckFailed, type Checker } from './check.js';
import type { ConsumerDone, Failed } from './workers/protocol.js';

/** Where messages come from: a MessagePort or a BroadcastChannel. */
export interface MessageSource {
  listen(onMessage: (m: unknown) => void): void;
  close(): void;
}

export function portSource(port: MessagePort): MessageSource {
  return { listen: (f) => port.on('message', f), close: () => port.close() };
}

export function broadcastSource(name: string): MessageSource {
  const channel = new BroadcastChannel(name);
  return {
    listen: (f) => {
      channel.onmessage = (e) => f((e as { data: unknown }).data);
    },
    close: () => channel.close(),
  };
}

export class PortConsumer {
  private n = 0;
  private running = false;
  private stopped = false;
  private stall: NodeJS.Timeout | undefined;

  constructor(
    private readonly checker: Checker,
    private readonly sources: MessageSource[],
    private readonly stallMs: number,
    private readonly send: (m: { type: 'ready' } | ConsumerDone | Failed) => void,
  ) {
    for (const source of sources) source.listen((m) => this.onMessage(m));
  }

  private stop(result: ConsumerDone | Failed): void {
    this.running = false;
    clearTimeout(this.stall);
    if (this.stopped) return;
    if (result.type === 'failed') this.stopped = true; // one failure is reported, nothing after it
    this.send(result);
  }

  private onMessage(m: unknown): void {
    if (this.stopped) return;
    if (!this.running) {
      this.stop({ type: 'failed', message: 'events arrived outside a run (more than were sent?)' });
      return;
    }
    const checker = this.checker;
    try {
      checker.message(m);
    } catch (err) {
      this.stop({ type: 'failed', message: err instanceof CheckFailed ? err.message : `consumer threw: ${(err as Error).stack ?? err}` });
      return;
    }
    if (checker.count >= this.n) {
      if (checker.count > this.n) this.stop({ type: 'failed', message: `${checker.count} events arrived, ${this.n} were sent` });
      else this.stop({ type: 'done', t1: process.hrtime.bigint(), count: checker.count, checksum: checker.checksum });
    } else if ((checker.count & 0x3fff) < 128) {
      this.stall?.refresh();
    }
  }

  start(n: number): void {
    this.checker.reset();
    this.n = n;
    this.running = true;
    this.stall = setTimeout(
      () => this.stop({ type: 'failed', message: `no event for ${this.stallMs} ms after ${this.checker.count} of ${n} events (lost?)` }),
      this.stallMs,
    );
    this.send({ type: 'ready' });
    if (n === 0) this.stop({ type: 'done', t1: process.hrtime.bigint(), count: 0, checksum: 0 });
  }

  close(): void {
    for (const source of this.sources) source.close();
    clearTimeout(this.stall);
  }
}
