// A piscina worker: attaches once per thread from the pool's workerData, then each task
// publishes a range of events.
import { workerData } from 'piscina';
import { attach } from 'ringbus';

const bus = attach(workerData.handle);

export default function publishRange({ from, to }: { from: number; to: number }): number {
  for (let n = from; n < to; n++) bus.publish('jobs', { n });
  return to - from;
}
