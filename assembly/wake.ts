// Wake-ups: sleepers wait on a futex word; whoever moves what they wait for bumps it.
// The common path (nobody asleep) costs one atomic load.
import * as L from "../src/layout";
import { h } from "./ring";

/** Wakes readers asleep for data, if any. */
@inline export function dataMoved(): void {
  if (atomic.load<i32>(h(L.H_DATA_WAITERS)) != 0) {
    atomic.add<i32>(h(L.H_DATA_FUTEX), 1);
    atomic.notify(h(L.H_DATA_FUTEX), -1);
  }
}

/** Wakes producers and dependent readers asleep for a cursor to move, if any. */
@inline export function cursorMoved(): void {
  if (atomic.load<i32>(h(L.H_CURSOR_WAITERS)) != 0) {
    atomic.add<i32>(h(L.H_CURSOR_FUTEX), 1);
    atomic.notify(h(L.H_CURSOR_FUTEX), -1);
  }
}

export function wakeAll(): void {
  atomic.add<i32>(h(L.H_DATA_FUTEX), 1);
  atomic.notify(h(L.H_DATA_FUTEX), -1);
  atomic.add<i32>(h(L.H_CURSOR_FUTEX), 1);
  atomic.notify(h(L.H_CURSOR_FUTEX), -1);
}
