// Exact interleavings that threads produce only rarely, driven through the core itself:
// each test stands for a bug found in review (see docs/DECISIONS.md).
import { describe, expect, it } from 'vitest';
import { attach, BusClosedError, ClaimClosedError, createBus, InvalidOptionError, PublishOrderError, TooManyReadersError, type Bus } from 'ringbus';
import { cursorOf, producerOf, ringOf } from 'ringbus/internal';

/** The core instance and ring view behind a bus (not public API: these tests drive the protocol). */
const internals = ringOf;

/** A core instance of its own over the same ring, listed as the producer of thread `thread`. */
function producerCore(bus: Bus, thread: number): any {
  const { core } = internals(attach(bus.handle));
  expect(core.acquireProducer(thread + 1)).toBeGreaterThanOrEqual(0);
  return core;
}

/**
 * A claim revoked and then lapped: a later record's payload now covers its old header but
 * ends before the old sequence number, which is still there. Returns what a late commit needs.
 */
function revokedAndLapped(tail: unknown) {
  const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'], codec: 'msgpack' }); // the byte layout below is @msgpack/msgpack's
  const ring = internals(bus);
  const { core } = ring;
  core.acquireProducer(1);
  const reader = bus.reader('r', { start: 'newest' });
  bus.publish('t', 0); // a 32-byte record at 0
  const index = core.claim(64, 1, 1 << 8); // P claims at 32 (msgpack) ...
  const seq = core.pendingSeq(32);
  expect(core.revoke(32, seq)).toBe(1); // ... and stalls; a reader revokes it
  reader.poll(() => undefined, 1_000);
  while (core.tailPosition() < 4096) {
    bus.publish('t', 1); // the ring laps
    reader.poll(() => undefined, 1_000);
  }
  const value = { s: 'abcdefghij', t: tail }; // its 18-byte payload covers index 32..33 only
  bus.publish('t', value);
  expect(core.pendingSeq(32)).toBe(seq); // the old sequence number is still there
  return { bus, ring, core, reader, index, seq, value };
}

describe('the protocol under rare interleavings', () => {
  it("a dead thread's claims, wherever they lie, are revoked and its producer slot freed", () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'], codec: 'raw' });
    const reader = bus.reader<Uint8Array>('r');
    const dead = producerCore(bus, 9_999); // the core of a thread that will die
    bus.publish('t', new Uint8Array([1])); // a 32-byte record at 0
    expect(dead.claim(16, 1, 0)).toBe(32); // it claims at 32 ...
    bus.publish('t', new Uint8Array([2]));
    expect(dead.claim(48, 2, 0)).toBe(80); // ... and at 80, and dies
    bus.publish('t', new Uint8Array([3]));
    const got: number[] = [];
    reader.poll((v) => got.push(v[0]));
    expect(got).toEqual([1]); // held at its first open claim
    const slot = dead.producerOf(10_000, 0);
    expect(dead.claimOwner(32)).toBe(slot);
    expect(dead.claimOwner(80)).toBe(slot);
    expect(dead.deadSlot(slot, 10_000)).toBe(2); // what the thread's death does
    expect(dead.producerOwner(slot)).toBe(0);
    expect(dead.deadSlot(slot, 10_000)).toBe(-1); // once only
    reader.poll((v) => got.push(v[0]));
    expect(got).toEqual([1, 2, 3]);
    for (let i = 0; i < 20; i++) {
      bus.publish('t', new Uint8Array(1008).fill(4 + i), { timeoutMs: 5_000 });
      reader.poll((v) => got.push(v[0]));
    }
    expect(got).toEqual([1, 2, 3, ...Array.from({ length: 20 }, (_, i) => 4 + i)]);
    expect(bus.stats().revoked).toBe(2);
  });

  it('concurrent publishBatchAsync calls keep their own batches and their order, with a sync batch after them', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 1 << 16, topics: ['t'], codec: 'json' });
    const reader = bus.reader<string>('r');
    const w = bus.publishAsync('t', 'w0');
    const a = bus.publishBatchAsync('t', ['a1', 'a2', 'a3']);
    const b = bus.publishBatchAsync('t', ['b'.repeat(40), 'b2']);
    bus.publishBatch('t', ['s1']); // called after them: comes after them
    await Promise.all([w, a, b]);
    const got: string[] = [];
    reader.poll((v) => got.push(v), 100);
    expect(got).toEqual(['w0', 'a1', 'a2', 'a3', 'b'.repeat(40), 'b2', 's1']);
  });

  it('an async publish queued behind others times out at its own timeoutMs, and one given up no longer holds sync publishes back', async () => {
    const bus = createBus({ capacity: 4096, topics: ['t'], codec: 'raw' });
    const reader = bus.reader<Uint8Array>('r');
    const record = (id: number) => new Uint8Array(200).fill(id);
    let id = 0;
    while (bus.tryPublish('t', record(id))) id++; // full
    const first = bus.publishAsync('t', record(100)); // waits for space, no limit
    const late = bus.publishAsync('t', record(101), { timeoutMs: 30 }).then(
      () => 'published',
      (error: Error) => error.name,
    );
    const immediate = bus.publishBatchAsync('t', [record(102)], { timeoutMs: 0 }).then(
      () => 'published',
      (error: Error) => error.name,
    );
    const aborted = new AbortController();
    const third = bus.publishAsync('t', record(103), { signal: aborted.signal }).catch((error: Error) => error.name);
    aborted.abort();
    expect(await third).toBe('AbortError');
    expect(await immediate).toBe('TimeoutError');
    expect(await late).toBe('TimeoutError'); // while the first still waits
    const got: number[] = [];
    reader.poll((v) => got.push(v[0]), 1000);
    await first;
    expect(bus.tryPublish('t', record(104))).toBe(true); // nothing waits any more: not refused
    reader.poll((v) => got.push(v[0]), 1000);
    expect(got).toEqual([...Array.from({ length: id }, (_, i) => i), 100, 104]);
    bus.close();
  });

  it('a sync publish never overtakes async publishes of its thread waiting for space: try forms publish nothing, the others throw PublishOrderError', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'], codec: 'raw' });
    const reader = bus.reader<Uint8Array>('r');
    const record = (id: number) => new Uint8Array(200).fill(id);
    let id = 0;
    while (bus.tryPublish('t', record(id))) id++; // full
    const waiting = [bus.publishAsync('t', record(id++)), bus.publishBatchAsync('t', [record(id++), record(id++)])];
    expect(bus.tryPublish('t', record(99))).toBe(false);
    expect(bus.tryPublishEvents([{ topic: 't', value: record(99) }])).toBe(0);
    for (const call of [
      () => bus.publish('t', record(99), { timeoutMs: 0 }),
      () => bus.publishBatch('t', [record(99)]),
      () => bus.publishEvents([{ topic: 't', value: record(99) }]),
      () => bus.claim('t', 8),
    ])
      expect(call).toThrow(PublishOrderError);
    const got: number[] = [];
    while (got.length < id) {
      reader.poll((v) => got.push(v[0]), 100);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await Promise.all(waiting);
    bus.publish('t', record(id)); // nothing waits now
    reader.poll((v) => got.push(v[0]), 100);
    expect(got).toEqual(Array.from({ length: id + 1 }, (_, i) => i));
    bus.close();
  });

  it('an async batch with nothing queued ahead of it and room in the ring goes out at once, in call order', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'], codec: 'json' });
    const reader = bus.reader<string>('r');
    const a = bus.publishBatchAsync('t', ['a1', 'a2']);
    bus.publishBatch('t', ['s1']);
    // more than the ring holds: the part that fits goes now, the rest waits for the reader
    const big = Array.from({ length: 300 }, (_, i) => `b${i}`);
    const b = bus.publishBatchAsync('t', big);
    const c = bus.publishBatchAsync('t', ['c1']); // queued behind b's wait
    const got: string[] = [];
    const deadline = Date.now() + 10_000;
    while (got.length < 304 && Date.now() < deadline) {
      reader.poll((v) => got.push(v), 1000);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all([a, b, c]);
    expect(got).toEqual(['a1', 'a2', 's1', ...big, 'c1']);
  });

  it("a late commit never commits another producer's claim in reused space", () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'], codec: 'raw' });
    const { core } = internals(bus);
    const producer = producerOf(bus);
    core.acquireProducer(1);
    const span = 64;
    const p = core.claim(span, 1, 0); // P claims at 0 and stalls
    const pSeq = core.pendingSeq(0);
    expect(core.revoke(0, pSeq)).toBe(1); // a reader revoked it
    for (let i = 0; i < 4096 / span - 1; i++) bus.publish('t', new Uint8Array(span - 16)); // the ring laps
    const q = core.claim(span, 1, 0); // Q's claim lands where P's was
    expect(q).toBe(p);
    const qSeq = core.pendingSeq(0);
    const qAt = core.claimPosition();
    expect(() => producer.commitOne(0, pSeq, new Uint8Array([1, 2, 3]))).toThrow(ClaimClosedError); // P learns it was revoked (its claim at position 0)
    expect(core.commit(q, span - 16, 1, qSeq, qAt)).toBe(0); // and Q's claim is still Q's
  });

  it('a member taken over after dying inside groupClaim resumes with nothing lost', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'], codec: 'raw' });
    const ring = internals(bus);
    const member = bus.reader('m', { group: 'g' });
    for (let i = 0; i < 3; i++) bus.publish('t', new Uint8Array(8).fill(i));
    expect(member.poll(() => undefined, 1)).toBe(1);
    const { slot, group } = cursorOf(member);
    // groupClaim's first two stores, then death before its CAS:
    const from = ring.core.cursor(group);
    const words = ring.i32;
    const set64 = (offset: number, v: number) => {
      const w = ring.slotWord(slot, offset);
      Atomics.store(words, w, v % 2 ** 32);
      Atomics.store(words, w + 1, Math.floor(v / 2 ** 32));
    };
    set64(56, from); // S_BATCH_END
    set64(0, from); // S_CURSOR
    expect(ring.core.memberPending(slot)).toBe(0);
    expect(ring.core.cursor(slot)).toBeGreaterThan(2 ** 62); // parked: it no longer holds producers back
    const heir = bus.reader<Uint8Array>('m', { group: 'g', takeover: true });
    const got: number[] = [];
    heir.poll((v) => got.push(v[0]));
    expect(got).toEqual([1, 2]);
  });

  it('a publish blocked on a full ring learns that the bus closed', async () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'], codec: 'raw' });
    bus.reader('stalled');
    while (bus.tryPublish('t', new Uint8Array(100)));
    setTimeout(() => bus.close(), 50);
    await expect(bus.publishAsync('t', new Uint8Array(100), { timeoutMs: 5_000 })).rejects.toThrow(BusClosedError);
  });

  it('a late commit after its space was reused a lap later is refused, whatever the bytes there say', () => {
    for (const tail of [[1], [1, 2]]) {
      // [1] puts 0x91 (state "claimed") over the old header, [1, 2] puts 0x92 ("committing")
      const { ring, core, reader, index, seq, value } = revokedAndLapped(tail);
      expect(ring.u8[ring.data + 32] & 0xf).toBe(tail.length);
      expect(core.commit(index, 1, 1, seq, 32)).toBe(1); // COMMIT_REVOKED: P publishes again
      const got: unknown[] = [];
      reader.poll((v) => got.push(v));
      expect(got).toEqual([value]); // and the record that lives there now is untouched
    }
  });

  it('a member batch larger than a quarter of the ring survives its member', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, codec: 'raw' });
    const member = bus.reader<Uint8Array>('m', { group: 'g' });
    bus.reader('other', { group: 'g' });
    for (let i = 0; i < 40; i++) bus.publish('default', new Uint8Array(16).fill(i)); // 1280 bytes
    expect(() =>
      member.poll(() => {
        throw new Error('worker died');
      }, 100),
    ).toThrow('worker died');
    expect(() => member.unsubscribe()).toThrow(/still holds a batch/);
    const heir = bus.reader<Uint8Array>('m', { group: 'g', takeover: true });
    const got: number[] = [];
    heir.poll((v) => got.push(v[0]), 100);
    expect(got).toEqual(Array.from({ length: 40 }, (_, i) => i));
  });

  it('a claim({ count }) whose whole view was cleared still frames its records', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, topics: ['t'], codec: 'raw' });
    const reader = bus.reader<Uint8Array>('r');
    const claim = bus.claim('t', 8, { count: 4 });
    claim.bytes.fill(0);
    for (let i = 0; i < 4; i++) claim.bytes.fill(i + 1, i * claim.stride, i * claim.stride + 8);
    claim.commit();
    bus.publish('t', new Uint8Array([9]));
    const got: number[] = [];
    reader.poll((v) => got.push(v[0]));
    expect(got).toEqual([1, 2, 3, 4, 9]);
  });

  it('a member open that fails leaves no group cursor behind', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, maxReaders: 2, codec: 'raw' });
    bus.reader('x');
    expect(() => bus.reader('w', { group: 'g' })).toThrow(TooManyReadersError);
    expect(bus.stats().readers.map((r) => r.name)).toEqual(['x']);
    const other = createBus({ timeoutMs: 10_000, capacity: 4096, codec: 'raw' });
    expect(() => other.reader('g', { group: 'g' })).toThrow(InvalidOptionError);
    // nobody reads, so nobody may hold publishing back
    for (let i = 0; i < 200; i++) other.publish('default', new Uint8Array(100), { timeoutMs: 200 });
  });

  it('a reader after a group sees nothing of a batch a member is still handling', () => {
    const bus = createBus({ timeoutMs: 10_000, capacity: 4096, codec: 'raw' });
    const member = bus.reader<Uint8Array>('m', { group: 'g' });
    const after = bus.reader<Uint8Array>('d', { after: ['g'] });
    for (let i = 0; i < 3; i++) bus.publish('default', new Uint8Array([i]));
    const early: number[] = [];
    member.poll(() => {
      after.poll((v) => early.push(v[0]));
    });
    expect(early).toEqual([]);
    const late: number[] = [];
    after.poll((v) => late.push(v[0]));
    expect(late).toEqual([0, 1, 2]);
  });
});
