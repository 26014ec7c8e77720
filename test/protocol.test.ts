// Exact interleavings that threads produce only rarely, driven through the core itself:
// each test stands for a bug found in review (see docs/DECISIONS.md).
import { describe, expect, it } from 'vitest';
import { BusClosedError, createBus, type Bus } from 'ringbus';

/** The core instance and ring view behind a bus (not public API: these tests drive the protocol). */
function internals(bus: Bus): any {
  return (bus as any).ring;
}

describe('the protocol under rare interleavings', () => {
  it('a producer revokes a dead claim that is not at the cached gate', () => {
    const bus = createBus({ capacity: 4096, topics: ['t'], codec: 'raw', claimTimeoutMs: 50 });
    const { core } = internals(bus);
    bus.publish('t', new Uint8Array(0)); // a 16-byte record at 0
    expect(core.claim(16, 1, 0)).toBe(16); // a producer claims at 16 and dies
    for (let i = 0; i < 20; i++) bus.publish('t', new Uint8Array(1008), { timeoutMs: 5_000 });
    expect(bus.stats().revoked).toBe(1);
  });

  it('concurrent publishBatchAsync calls keep their own batches and their order', async () => {
    const bus = createBus({ capacity: 1 << 16, topics: ['t'], codec: 'json' });
    const reader = bus.reader<string>('r');
    const a = bus.publishBatchAsync('t', ['a1', 'a2', 'a3']);
    const b = bus.publishBatchAsync('t', ['b'.repeat(40), 'b2']);
    bus.publishBatch('t', ['s1']); // a sync batch while both wait for their turn
    await Promise.all([a, b]);
    const got: string[] = [];
    reader.poll((v) => got.push(v), 100);
    expect(got).toEqual(['s1', 'a1', 'a2', 'a3', 'b'.repeat(40), 'b2']);
  });

  it("a late commit never commits another producer's claim in reused space", () => {
    const bus = createBus({ capacity: 4096, topics: ['t'], codec: 'raw' });
    const { core } = internals(bus);
    const producer = (bus as any).producer;
    const span = 64;
    const p = core.claim(span, 1, 0); // P claims at 0 and stalls
    const pSeq = core.pendingSeq(0);
    expect(core.revoke(0, pSeq)).toBe(1); // a reader revoked it
    for (let i = 0; i < 4096 / span - 1; i++) bus.publish('t', new Uint8Array(span - 16)); // the ring laps
    const q = core.claim(span, 1, 0); // Q's claim lands where P's was
    expect(q).toBe(p);
    const qSeq = core.pendingSeq(0);
    expect(producer.commitOne(p, pSeq, new Uint8Array([1, 2, 3]))).toBe(false); // P learns it was revoked
    expect(core.commit(q, span - 16, 1, qSeq)).toBe(0); // and Q's claim is still Q's
  });

  it('a member taken over after dying inside groupClaim resumes with nothing lost', () => {
    const bus = createBus({ capacity: 4096, topics: ['t'], codec: 'raw' });
    const ring = internals(bus);
    const member = bus.reader('m', { group: 'g' });
    for (let i = 0; i < 3; i++) bus.publish('t', new Uint8Array(8).fill(i));
    expect(member.poll(() => undefined, 1)).toBe(1);
    const slot = (member as any).slot;
    const group = (member as any).group;
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
    const bus = createBus({ capacity: 4096, topics: ['t'], codec: 'raw' });
    bus.reader('stalled');
    while (bus.tryPublish('t', new Uint8Array(100)));
    setTimeout(() => bus.close(), 50);
    await expect(bus.publishAsync('t', new Uint8Array(100), { timeoutMs: 5_000 })).rejects.toThrow(BusClosedError);
  });
});
