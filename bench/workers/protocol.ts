// Messages between the main thread and the bench workers. Timestamps are
// process.hrtime.bigint(): libuv's monotonic clock, one clock for every thread of the
// process, so a consumer's "last event" minus a producer's "first publish" is the transfer time.
import type { MessagePort } from 'node:worker_threads';
import type { BusHandle } from 'ringbus';
import type { WaitName } from '../flow.js';
import type { Fault, PayloadKind } from '../payload.js';

/** main -> worker: move (producer) or expect (consumer) n events. */
export interface RunCommand {
  type: 'run';
  n: number;
}

/** main -> consumer after the last run: the bus is closed; nothing more may arrive. */
export interface CloseCommand {
  type: 'close';
}

export interface ProducerDone {
  type: 'done';
  t0: bigint;
  t1: bigint;
}

export interface ConsumerDone {
  type: 'done';
  t1: bigint;
  count: number;
  checksum: number;
}

export interface Failed {
  type: 'failed';
  message: string;
}

interface Common {
  kind: PayloadKind;
  stallMs: number;
}

export type ProducerData = Common & { p: number; P: number; fault: Fault } & (
    | {
        transport: 'ring';
        handle: BusHandle;
        wait: WaitName;
        /** claim: `count` records per claim, written in place; batch: publishBatch of `count`; publish: one publish() per event. */
        mode: 'claim' | 'batch' | 'publish';
        count: number;
        /** batch mode: event i gets the key i % keys (a keyed publish). */
        keys?: number;
      }
    | { transport: 'ports'; ports: MessagePort[]; delivery: 'all' | 'share'; batch: number }
    | { transport: 'ringbufjs'; sab: SharedArrayBuffer }
    /** The plain-JS floor (transports/plain-sab.ts). */
    | { transport: 'plainSab'; sab: SharedArrayBuffer }
    /** One postMessage per event on a BroadcastChannel of this name. */
    | { transport: 'broadcast'; channel: string }
    /** thread-stream: the producer's ThreadStream starts the sink (workers/thread-stream-sink.ts), which reports on `port`. */
    | { transport: 'threadStream'; port: MessagePort; bufferSize: number }
  );

export type ConsumerData = Common & { producers: number; strict: boolean } & (
    | {
        transport: 'ring';
        handle: BusHandle;
        wait: WaitName;
        api: 'poll' | 'pollRaw';
        pollMax: number;
        name: string;
        group?: string;
        /** The group is keyed: each key's events to one member. */
        keyed?: boolean;
        /** A group: Int32 [0] counts the events all members consumed in this run. */
        shared?: SharedArrayBuffer;
      }
    | { transport: 'ports'; ports: MessagePort[] }
    | { transport: 'ringbufjs'; sab: SharedArrayBuffer }
    | { transport: 'plainSab'; sab: SharedArrayBuffer }
    | { transport: 'broadcast'; channel: string }
  );
