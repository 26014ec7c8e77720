// One stage of the postMessage pipeline: a worker between two MessagePorts that passes
// every message on through the same trivial handler as the ring's stages. 'event': one
// event per message; 'batch': an array of events per message.
import { type MessagePort, workerData } from 'node:worker_threads';

export interface PostMessageStageData {
  input: MessagePort;
  output: MessagePort;
  batch: boolean;
}

const { input, output, batch } = workerData as PostMessageStageData;
const handle = (value: number): number => value;

input.on('message', batch ? (values: number[]) => output.postMessage(values.map(handle)) : (value: number) => output.postMessage(handle(value)));
