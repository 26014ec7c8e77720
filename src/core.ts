import { readFileSync } from 'node:fs';

/** The WebAssembly exports of assembly/index.ts. Positions cross the boundary as f64. */
export interface RingCore {
  initRing(capacity: number, maxReaders: number, maxSpan: number, topicCount: number, topicHash: number): void;
  attachRing(): number;
  dataOffset(): number;
  keyedOffset(): number;
  setCursorLocked(slot: number, position: number): void;
  slotOffset(slot: number): number;
  gatePosition(slot: number): number;
  minGate(): number;
  claim(span: number, count: number, meta: number): number;
  commit(index: number, firstLength: number, count: number, seq: number, position: number): number;
  claimPosition(): number;
  closeRing(): void;
  wakeAll(): void;
  registerReader(slot: number, kind: number, group: number, start: number): void;
  releaseReader(slot: number): void;
  available(slot: number, max: number, depLimit: number): number;
  cursor(slot: number): number;
  cursorIndex(slot: number): number;
  advance(slot: number, bytes: number, events: number, nextSeq: number): void;
  abort(index: number, seq: number, position: number): number;
  acquireProducer(owner: number): number;
  producerOwner(slot: number): number;
  producerOf(owner: number, from: number): number;
  deadSlot(slot: number, owner: number): number;
  claimOwner(position: number): number;
  openClaimAt(position: number): number;
  pendingSeq(position: number): number;
  revoke(position: number, seq: number): number;
  blockedAt(): number;
  lapped(position: number): number;
  resync(slot: number): number;
  seqFromPosition(position: number): number;
  groupClaim(member: number, group: number, max: number, depLimit: number): number;
  memberPending(member: number): number;
  memberDone(member: number, events: number): void;
  tailPosition(): number;
  addProducerWait(ns: number): void;
  addSlotCounter(slot: number, offset: number, n: number): void;
  committedEvents(): number;
  counter(offset: number): number;
  slotCounter(slot: number, offset: number): number;
}

let compiled: WebAssembly.Module | undefined;

/** The compiled core, once per thread. */
export function ringModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('../build/ringbus.wasm', import.meta.url)));
  return compiled;
}

/** One instance per thread per ring; the module has no data segments, so this never resets the ring. */
export function instantiate(module: WebAssembly.Module, memory: WebAssembly.Memory): RingCore {
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return instance.exports as unknown as RingCore;
}
