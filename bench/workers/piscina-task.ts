// A piscina task: checks one event (or an array of them) and returns the hash of what it
// checked; the main thread adds the hashes up and counts the tasks. No order check: piscina
// does not promise to run a thread's tasks in submission order (it did not, in a trial).
import { Checker } from '../check.js';
import type { PayloadKind } from '../payload.js';

export interface PiscinaTask {
  /** A new run resets the order check. */
  run: number;
  kind: PayloadKind;
  event: unknown;
}

let run = -1;
let checker: Checker | undefined;

export default function checkEvent(task: PiscinaTask): number {
  if (task.run !== run || !checker) {
    checker = new Checker(task.kind, 1, false);
    checker.ordered = false;
    run = task.run;
  }
  const before = checker.checksum;
  checker.message(task.event);
  return (checker.checksum - before) | 0;
}
