// Worker spawning, message plumbing, statistics and machine facts for the benchmarks.
import os from 'node:os';
import { type MessagePort, type TransferListItem, Worker } from 'node:worker_threads';

/** A check failed: lost, reordered or corrupt events, or a worker died. Never a number. */
export class BenchFailure extends Error {}

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  node: string;
  platform: string;
  arch: string;
  date: string;
  totalMemGiB: number;
}

export function machineInfo(): MachineInfo {
  return {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    date: new Date().toISOString(),
    totalMemGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
  };
}

export interface Summary {
  median: number;
  min: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error('summarize() needs at least one value');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted[sorted.length - 1] };
}

export interface Message {
  type: string;
  message?: string;
}

/**
 * Messages awaited one at a time by type. A `failed` message or fail() rejects whatever is
 * awaited (and every later wait). Every wait has a timeout.
 */
export class Inbox {
  private readonly inbox: Message[] = [];
  private waiter: { type: string; resolve: (m: Message) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(readonly label: string) {}

  /** Hands a message in (from a worker, or from a consumer in this thread). */
  receive(m: Message): void {
    if (m.type === 'failed') this.fail(new BenchFailure(`${this.label}: ${m.message}`));
    else this.inbox.push(m);
    this.deliver();
  }

  /** The next message of `type` (messages of other types before it are dropped). */
  next<T extends Message>(type: string, timeoutMs = 120_000): Promise<T> {
    if (this.waiter) throw new Error(`${this.label}: already waiting for "${this.waiter.type}"`);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new BenchFailure(`${this.label}: no "${type}" message within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiter = {
        type,
        resolve: (m) => {
          clearTimeout(timer);
          resolve(m as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.deliver();
    });
  }

  fail(err: Error): void {
    this.failure ??= err;
    this.deliver();
  }

  private deliver(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    if (this.failure) {
      this.waiter = undefined;
      waiter.reject(this.failure);
      return;
    }
    while (this.inbox.length > 0) {
      const m = this.inbox.shift()!;
      if (m.type === waiter.type) {
        this.waiter = undefined;
        waiter.resolve(m);
        return;
      }
    }
  }
}

/** Something that takes commands and answers with typed messages: a worker, or a consumer in this thread. */
export interface Endpoint {
  readonly label: string;
  post(message: unknown): void;
  next<T extends Message>(type: string, timeoutMs?: number): Promise<T>;
  terminate(): Promise<void>;
}

/** A worker as an Endpoint. An uncaught error or an early exit fails it. */
export class WorkerHost extends Inbox implements Endpoint {
  private readonly worker: Worker;

  constructor(label: string, url: URL, workerData: unknown, transferList: TransferListItem[] = []) {
    super(label);
    this.worker = new Worker(url, { workerData, transferList });
    this.worker.on('message', (m: Message) => this.receive(m));
    this.worker.on('error', (err) => this.fail(new BenchFailure(`${label} worker crashed: ${err.stack ?? err}`)));
    this.worker.on('exit', (code) => this.fail(new BenchFailure(`${label} worker exited (code ${code}) unexpectedly`)));
  }

  post(message: unknown, transferList: TransferListItem[] = []): void {
    this.worker.postMessage(message, transferList);
  }

  async terminate(): Promise<void> {
    this.worker.removeAllListeners('exit'); // this exit is expected
    await this.worker.terminate();
  }
}

/** A thread this process does not start itself (thread-stream's worker), reached over a MessagePort. */
export class PortHost extends Inbox implements Endpoint {
  constructor(
    label: string,
    private readonly port: MessagePort,
  ) {
    super(label);
    port.on('message', (m: Message) => this.receive(m));
  }

  post(message: unknown): void {
    this.port.postMessage(message);
  }

  async terminate(): Promise<void> {
    this.port.close(); // its thread ends with the thread that started it
  }
}

/** Resolves the compiled worker file next to the compiled bench (dist-dev/bench/workers/). */
export function workerUrl(name: string): URL {
  return new URL(`./workers/${name}.js`, import.meta.url);
}

export interface RunPlan {
  warmups: number;
  runs: number;
}

/** 12345678.9 -> "12.35M" */
export function formatRate(eventsPerSec: number): string {
  if (eventsPerSec >= 1e6) return `${(eventsPerSec / 1e6).toFixed(2)}M`;
  if (eventsPerSec >= 1e3) return `${(eventsPerSec / 1e3).toFixed(1)}k`;
  return eventsPerSec.toFixed(0);
}

/** Rounds n up to a multiple of unit (at least one unit). */
export function roundUp(n: number, unit: number): number {
  return Math.max(unit, Math.ceil(n / unit) * unit);
}

export const hrNow = (): bigint => process.hrtime.bigint();

/**
 * How many cores other processes kept busy while the benchmark ran: all CPU time the
 * system counted, less this process's own (every thread), over the wall time. On a
 * 2-core machine anything above a few tenths makes the figures low and noisy.
 */
export class LoadMeter {
  private readonly cpus = busyMs();
  private readonly own = process.cpuUsage();
  private readonly start = performance.now();

  otherCores(): number {
    const wall = performance.now() - this.start;
    const own = process.cpuUsage(this.own);
    const other = busyMs() - this.cpus - (own.user + own.system) / 1000;
    return Math.max(0, other / wall);
  }
}

function busyMs(): number {
  let busy = 0;
  for (const cpu of os.cpus()) busy += cpu.times.user + cpu.times.nice + cpu.times.sys + cpu.times.irq;
  return busy;
}
