import { readFileSync } from 'node:fs';

/** The WebAssembly exports of assembly/index.ts. Positions cross the boundary as f64; codes are named in layout.ts. */
export interface RingCore {
  initRing(capacity: number, maxReaders: number, maxSpan: number, topicCount: number, topicHash: number): void;
  attachRing(): number;
  dataOffset(): number;
  keyedOffset(): number;
  setCursorLocked(slot: number, position: number): void;
  slotOffset(slot: number): number;
  holdPosition(slot: number): number;
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

// A handle's module and memory are typed by what the API does with them, not as `WebAssembly.*`:
// the published types must compile without the DOM library, which is where that namespace lives.
/** The compiled core, a `WebAssembly.Module`: opaque to users, passed on unchanged. */
export type CoreModule = object;
/** A ring's shared `WebAssembly.Memory`. */
export interface CoreMemory {
  readonly buffer: ArrayBufferLike;
}

let compiled: WebAssembly.Module | undefined;

/** The compiled core, once per thread. */
export function ringModule(): CoreModule {
  compiled ??= new WebAssembly.Module(readFileSync(new URL('../build/ringbus.wasm', import.meta.url)));
  return compiled;
}

/** One instance per thread per ring; the module has no data segments, so this never resets the ring. */
export function instantiate(module: CoreModule, memory: CoreMemory): RingCore {
  const instance = new WebAssembly.Instance(module as WebAssembly.Module, { env: { memory: memory as WebAssembly.Memory } });
  return instance.exports as unknown as RingCore;
}
