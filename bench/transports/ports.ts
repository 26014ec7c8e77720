// postMessage over MessagePorts: one MessageChannel per producer-consumer pair. The consumer
// is the main thread (postMessage, postMessage-batch with one consumer: what a Node user
// does with a worker) or a worker (messageChannel; and every multi-consumer shape).
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Checker } from '../check.js';
import { type Endpoint, Inbox, WorkerHost, workerUrl } from '../harness.js';
import type { FlowSpec, RunContext, Session, TransportUse } from '../flow.js';
import { PortConsumer, portSource } from '../port-consumer.js';
import type { ConsumerData, ProducerData, RunCommand } from '../workers/protocol.js';
import { threadsSession } from './threads.js';

export interface PortsOptions {
  transport: 'postMessage' | 'postMessage-batch' | 'messageChannel';
  /** Events per message. */
  batch: number;
  /** The consumer runs in the main thread (only with one consumer). */
  mainConsumer: boolean;
  guessRate: number;
}

/** A consumer in this (the main) thread, as an Endpoint. */
class MainConsumer extends Inbox implements Endpoint {
  private readonly consumer: PortConsumer;
  constructor(label: string, checker: Checker, ports: MessagePort[], stallMs: number) {
    super(label);
    this.consumer = new PortConsumer(checker, ports.map(portSource), stallMs, (m) => this.receive(m));
  }
  post(msg: RunCommand): void {
    if (msg.type === 'run') this.consumer.start(msg.n);
  }
  async terminate(): Promise<void> {
    this.consumer.close();
  }
}

/** Events each consumer gets when producers deal their messages round robin. */
function roundRobinShare(c: number, n: number, P: number, C: number, batch: number): number {
  const m = n / P;
  let got = 0;
  for (let first = c * batch; first < m; first += C * batch) got += Math.min(batch, m - first);
  return got * P;
}

export function ports(o: PortsOptions): TransportUse {
  return {
    transport: o.transport,
    fits: (spec) => !o.mainConsumer || spec.shape.consumers === 1,
    async open(spec: FlowSpec, ctx: RunContext): Promise<Session> {
      const { producers: P, consumers: C, delivery } = spec.shape;
      const label = `${spec.scenario} ${o.transport}`;
      // channels[p][c] joins producer p to consumer c
      const channels = Array.from({ length: P }, () => Array.from({ length: C }, () => new MessageChannel()));
      const consumers: Endpoint[] = [];
      const producers: Endpoint[] = [];
      const strict = delivery === 'all';
      try {
        for (let c = 0; c < C; c++) {
          const mine = channels.map((row) => row[c].port2);
          if (o.mainConsumer) {
            consumers.push(new MainConsumer(`${label} consumer`, new Checker(spec.payload, P, strict), mine, ctx.stallMs));
            continue;
          }
          const d: ConsumerData = { transport: 'ports', kind: spec.payload, stallMs: ctx.stallMs, producers: P, strict, ports: mine };
          const host = new WorkerHost(`${label} consumer ${c}`, workerUrl('reader'), d, mine);
          consumers.push(host);
          await host.next('attached');
        }
        for (let p = 0; p < P; p++) {
          const mine = channels[p].map((ch) => ch.port1);
          const d: ProducerData = {
            transport: 'ports',
            kind: spec.payload,
            stallMs: ctx.stallMs,
            p,
            P,
            fault: ctx.fault,
            ports: mine,
            delivery,
            batch: o.batch,
          };
          const host = new WorkerHost(`${label} producer ${p}`, workerUrl('producer'), d, mine);
          producers.push(host);
          await host.next('attached');
        }
      } catch (err) {
        await Promise.all([...consumers, ...producers].map((e) => e.terminate()));
        throw err;
      }
      const where = o.mainConsumer ? 'the main thread' : C > 1 ? `${C} workers` : 'a worker';
      const deal = C > 1 ? (delivery === 'all' ? ', each message to every consumer' : ', messages dealt round robin') : '';
      return threadsSession({
        transport: o.transport,
        how: `${o.batch === 1 ? 'one event per message' : `${o.batch} events per message`}, ${P > 1 ? `${P} producer workers` : 'producer worker'} -> ${where}${deal}`,
        busyThreads: P + C,
        guessRate: o.guessRate,
        details: { api: 'MessagePort.postMessage', batch: o.batch, consumer: o.mainConsumer ? 'main thread' : 'worker' },
        spec,
        consumers,
        producers,
        shareOf: delivery === 'share' ? (c, n) => roundRobinShare(c, n, P, C, o.batch) : undefined,
      });
    },
  };
}
