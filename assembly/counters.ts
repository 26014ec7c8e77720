// Counters for stats(), as f64 (exact below 2^53).
import * as L from "../src/layout";
import { h, producerSlot, slot, visibleTail } from "./ring";

export function tailPosition(): f64 {
  return <f64>visibleTail();
}

export function addProducerWait(ns: f64): void {
  atomic.add<i64>(h(L.H_PRODUCER_WAIT_NS), <i64>ns);
}

export function addSlotCounter(i: i32, offset: i32, n: f64): void {
  atomic.add<i64>(slot(i) + <usize>offset, <i64>n);
}

/** Events committed: by threads whose slots were freed, and through every live slot. */
export function committedEvents(): f64 {
  while (true) {
    const moves = atomic.load<i32>(h(L.H_COUNT_MOVES));
    if (moves & 1) continue;
    let n = atomic.load<i64>(h(L.H_COMMITTED));
    for (let i = 0; i < L.MAX_PRODUCERS; i++) n += atomic.load<i64>(producerSlot(i) + L.P_COMMITTED);
    if (atomic.load<i32>(h(L.H_COUNT_MOVES)) == moves) return <f64>n;
  }
}

export function counter(offset: i32): f64 {
  return <f64>atomic.load<i64>(h(offset));
}

export function slotCounter(i: i32, offset: i32): f64 {
  return <f64>atomic.load<i64>(slot(i) + <usize>offset);
}
