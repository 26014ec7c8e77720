// The record descriptor on the TypeScript side (src/record.ts) reads the headers the core
// writes (assembly/), and the codes that cross the boundary mean what layout.ts names them.
import { describe, expect, it } from 'vitest';
import { createBus } from 'ringbus';
import { ringOf } from 'ringbus/internal';
import * as L from '../src/layout.js';
import { instantiate } from '../src/core.js';
import { codecOf, isEvent, isPadding, keyBytes, packMeta, readSeq, recordSize, recordState, topicOf } from '../src/record.js';

/** The ring view behind a bus (not public API: these tests read its memory). */
const ring = ringOf;

describe('the record descriptor', () => {
  it('reads topic, codec, key and state from the headers the core wrote', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['a', 'b'], codec: 'raw' });
    const { i32, data } = ring(bus);
    bus.publish('b', new Uint8Array([7, 7, 7]));
    bus.publish('a', new Uint8Array([1]), { key: 'k' });
    const first = i32[data >> 2];
    expect(recordState(first)).toBe(L.STATE_COMMITTED);
    expect(isEvent(first)).toBe(true);
    expect(isPadding(first)).toBe(false);
    expect(topicOf(first)).toBe(1);
    expect(codecOf(first)).toBe(0); // raw
    expect(keyBytes(first)).toBe(0);
    expect(first & ~L.STATE_MASK).toBe(packMeta(1, 0, false));
    expect(readSeq(i32, data)).toBe(0);
    const at = data + recordSize(3);
    const second = i32[at >> 2];
    expect(topicOf(second)).toBe(0);
    expect(keyBytes(second)).toBe(L.KEY_BYTES);
    expect(i32[(at + L.R_LENGTH) >> 2]).toBe(L.KEY_BYTES + 1);
    expect(second & ~L.STATE_MASK).toBe(packMeta(0, 0, true));
    expect(readSeq(i32, at)).toBe(1);
    bus.close();
  });

  it('reads the padding record the core writes at the wrap as padding, not an event', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'], codec: 'raw' });
    const { i32, data, core } = ring(bus);
    const reader = bus.reader<Uint8Array>('r');
    const payload = new Uint8Array(700); // 720 bytes a record: five fill 3,600 of 4,096, the sixth goes to 0
    const got: number[] = [];
    for (let i = 0; i < 6; i++) {
      payload[0] = i;
      bus.publish('t', payload);
      reader.poll((v) => got.push(v[0]));
    }
    expect(got).toEqual([0, 1, 2, 3, 4, 5]);
    expect(recordSize(700)).toBe(720);
    expect(core.tailPosition()).toBe(4096 + 720);
    const pad = data + 5 * 720;
    const meta = i32[pad >> 2];
    expect(meta).toBe(L.PADDING_META);
    expect(isPadding(meta)).toBe(true);
    expect(recordState(meta)).toBe(L.STATE_COMMITTED);
    expect(isEvent(meta)).toBe(false);
    expect(L.RECORD_HEADER + i32[(pad + L.R_LENGTH) >> 2]).toBe(4096 - 5 * 720);
    expect(isPadding(i32[data >> 2])).toBe(false); // the sixth record, at index 0
    expect(readSeq(i32, data)).toBe(5);
    bus.close();
  });
});

describe('codes across the boundary', () => {
  it('attachRing() tells a ring, no ring and another layout version apart', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'] });
    expect(instantiate(bus.handle.module, bus.handle.memory).attachRing()).toBe(L.ATTACH_OK);
    const memory = new WebAssembly.Memory({ initial: 2, maximum: 2, shared: true });
    const core = instantiate(bus.handle.module, memory);
    expect(core.attachRing()).toBe(L.ATTACH_NO_RING);
    const header = new Int32Array(memory.buffer, L.RING_BASE, L.HEADER_BYTES / 4);
    Atomics.store(header, L.H_VERSION >> 2, L.LAYOUT_VERSION + 1);
    Atomics.store(header, L.H_MAGIC >> 2, L.MAGIC);
    expect(core.attachRing()).toBe(L.ATTACH_OTHER_VERSION);
    bus.close();
  });

  it('registerReader() starts a slot where START_* says', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'], codec: 'raw' });
    bus.reader('r'); // slot 0, at the oldest event
    const { core } = ring(bus);
    bus.publish('t', new Uint8Array([1]));
    bus.publish('t', new Uint8Array([2])); // two 32-byte records: the tail is at 64, the gate at 0
    core.registerReader(0, L.KIND_GATING, L.NO_SLOT, L.START_NEWEST);
    expect(core.cursor(0)).toBe(64);
    core.registerReader(0, L.KIND_GATING, L.NO_SLOT, L.START_KEEP);
    expect(core.cursor(0)).toBe(64);
    core.registerReader(0, L.KIND_GATING, L.NO_SLOT, L.START_OLDEST);
    expect(core.cursor(0)).toBe(0);
    bus.close();
  });
});
