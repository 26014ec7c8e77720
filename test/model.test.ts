// Property: any sequence of claims, commits, publishes, reader joins/leaves and polls on one
// thread behaves exactly like a small reference model of the ring's byte layout: the same
// "full or not" answer for every claim, and every reader gets exactly the model's events.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Claim, ClaimDeadlockError, createBus, type Reader, TimeoutError, TooManyClaimsError } from 'ringbus';

const CAPACITY = 4096;
const HEADER = 16;
const OPEN_CLAIMS = 6; // a thread's open claims on one ring, publishes included
const align = (n: number) => (n + 15) & ~15;

interface ModelRecord {
  size: number;
  seq: number; // -1 for padding
  payload: Uint8Array | null;
  committed: boolean;
}

class Model {
  tail = 0;
  gate = 0; // mirrors the core's cached gate
  nextSeq = 0;
  records = new Map<number, ModelRecord>();
  cursors = new Map<string, number>();

  /** Where a claim of `span` bytes would go, or -1 when the ring is full. */
  claim(span: number): number {
    const index = this.tail % CAPACITY;
    const pad = index + span > CAPACITY ? CAPACITY - index : 0;
    const need = pad + span;
    if (this.tail + need > this.gate + CAPACITY) {
      const want = Math.max(this.gate, this.tail + need - CAPACITY + CAPACITY / 8);
      const fresh = this.frontier(Math.min(want, this.tail, ...this.cursors.values()));
      if (this.tail + need > fresh + CAPACITY) return -1;
      this.gate = Math.max(this.gate, fresh);
    }
    if (pad > 0) this.records.set(this.tail, { size: pad, seq: -1, payload: null, committed: true });
    const at = this.tail + pad;
    this.tail += need;
    return at;
  }

  /** Where a producer that finds the ring full is held: a reader's cursor or an open claim. */
  blockedAt(): number {
    return this.frontier(Math.min(this.tail, ...this.cursors.values()));
  }

  /** The gate never passes a claim not yet committed, whatever the readers' cursors. */
  frontier(limit: number): number {
    let pos = this.gate;
    while (pos < limit && this.records.get(pos)!.committed) pos += this.records.get(pos)!.size;
    return pos;
  }

  /** The events a poll of at most `max` returns, advancing the cursor as the core does. */
  poll(name: string, max: number): [number, Uint8Array][] {
    let pos = this.cursors.get(name)!;
    const out: [number, Uint8Array][] = [];
    while (pos < this.tail && out.length < max) {
      const r = this.records.get(pos)!;
      if (!r.committed) break;
      if (r.payload !== null) out.push([r.seq, r.payload]);
      pos += r.size;
    }
    this.cursors.set(name, pos);
    return out;
  }
}

type Op =
  | { op: 'publish'; length: number }
  | { op: 'claim'; length: number }
  | { op: 'commit'; which: number }
  | { op: 'poll'; which: number; max: number }
  | { op: 'join'; newest: boolean }
  | { op: 'leave'; which: number };

const ops: fc.Arbitrary<Op[]> = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('publish' as const), length: fc.integer({ min: 0, max: 400 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('claim' as const), length: fc.integer({ min: 0, max: 400 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('commit' as const), which: fc.nat() }) },
    { weight: 5, arbitrary: fc.record({ op: fc.constant('poll' as const), which: fc.nat(), max: fc.integer({ min: 1, max: 40 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('join' as const), newest: fc.boolean() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('leave' as const), which: fc.nat() }) },
  ),
  { minLength: 100, maxLength: 300 },
);

function bytesFor(seq: number, length: number): Uint8Array {
  const b = new Uint8Array(length);
  for (let i = 0; i < length; i++) b[i] = (seq * 13 + i) & 255;
  return b;
}

describe('the ring against a reference model', () => {
  it('agrees on every claim, commit and read', () => {
    fc.assert(
      fc.property(ops, (sequence) => {
        const bus = createBus({ timeoutMs: 10_000, capacity: CAPACITY, codec: 'raw' });
        try {
          const model = new Model();
          const readers = new Map<string, Reader<Uint8Array>>();
          const open: { claim: Claim; record: ModelRecord; at: number }[] = [];
          /** A full ring held by one of this thread's own open claims never frees: no wait. */
          const fullError = () => (open.some((o) => o.at === model.blockedAt()) ? ClaimDeadlockError : TimeoutError);
          let names = 0;
          const join = (newest: boolean) => {
            const name = `r${names++}`;
            readers.set(name, bus.reader<Uint8Array>(name, { start: newest ? 'newest' : 'oldest' }));
            model.cursors.set(name, newest ? model.tail : model.gate);
          };
          join(false);
          for (const step of sequence) {
            switch (step.op) {
              case 'publish': {
                if (open.length === OPEN_CLAIMS) {
                  expect(() => bus.tryPublish('default', new Uint8Array(step.length))).toThrow(TooManyClaimsError);
                  break;
                }
                const at = model.claim(align(HEADER + step.length));
                const payload = bytesFor(model.nextSeq, step.length);
                expect(bus.tryPublish('default', payload)).toBe(at >= 0);
                if (at >= 0) model.records.set(at, { size: align(HEADER + step.length), seq: model.nextSeq++, payload, committed: true });
                break;
              }
              case 'claim': {
                if (open.length === OPEN_CLAIMS) {
                  expect(() => bus.claim('default', step.length, { timeoutMs: 1 })).toThrow(TooManyClaimsError);
                  break;
                }
                const at = model.claim(align(HEADER + step.length));
                if (at < 0) {
                  expect(() => bus.claim('default', step.length, { timeoutMs: 1 })).toThrow(fullError());
                  break;
                }
                const record = { size: align(HEADER + step.length), seq: model.nextSeq, payload: bytesFor(model.nextSeq++, step.length), committed: false };
                model.records.set(at, record);
                open.push({ claim: bus.claim('default', step.length, { timeoutMs: 1 }), record, at });
                break;
              }
              case 'commit': {
                if (open.length === 0) break;
                const [{ claim, record }] = open.splice(step.which % open.length, 1);
                claim.bytes.set(record.payload!);
                claim.commit();
                record.committed = true;
                break;
              }
              case 'poll': {
                if (readers.size === 0) break;
                const name = [...readers.keys()][step.which % readers.size];
                const got: [number, Uint8Array][] = [];
                readers.get(name)!.poll((bytes, _topic, seq) => got.push([seq, bytes.slice()]), step.max);
                expect(got).toEqual(model.poll(name, step.max));
                break;
              }
              case 'join':
                if (readers.size < 6) join(step.newest);
                break;
              case 'leave': {
                if (readers.size === 0) break;
                const name = [...readers.keys()][step.which % readers.size];
                readers.get(name)!.unsubscribe();
                readers.delete(name);
                model.cursors.delete(name);
                break;
              }
            }
          }
          expect(bus.stats().claimed).toBe(model.nextSeq);
          expect(bus.stats().tail).toBe(model.tail);
        } finally {
          bus.close();
        }
      }),
      { numRuns: 300, endOnFailure: true },
    );
  });
});
