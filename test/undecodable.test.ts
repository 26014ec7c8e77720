// A record a reader cannot decode is consumed and reported once, never delivered again for
// ever: one poison record must not hold every reader behind it.
import { describe, expect, it } from 'vitest';
import { type Codec, createBus, DecodeError, EncodeError } from 'ringbus';

const failing: Codec<string> = {
  id: 20,
  name: 'failing',
  encode: (v) => new TextEncoder().encode(v),
  decode: (b) => {
    if (b[0] === 0x78) throw new Error('x is poison');
    return new TextDecoder().decode(b);
  },
};

function busWithPoison() {
  const bus = createBus({ capacity: 1 << 16, topics: ['t', 'u'], codec: failing });
  for (const v of ['a', 'b', 'x', 'c']) bus.publish(v === 'b' ? 'u' : 't', v);
  return bus;
}

describe('a record that cannot be decoded', () => {
  it('poll: the events before it are delivered, it is consumed and reported with its record, the next poll goes on', () => {
    const bus = busWithPoison();
    const reader = bus.reader<string>('r', { codecs: [failing] });
    const got: string[] = [];
    let error: unknown;
    try {
      reader.poll((v) => got.push(v));
    } catch (e) {
      error = e;
    }
    expect(got).toEqual(['a', 'b']);
    expect(error).toBeInstanceOf(DecodeError);
    const record = (error as DecodeError).record!;
    expect(record.seq).toBe(2);
    expect(record.topic).toBe('t');
    expect(record.codec).toBe(20);
    expect([...record.bytes]).toEqual([0x78]);
    reader.poll((v) => got.push(v));
    expect(got).toEqual(['a', 'b', 'c']);
    expect(reader.stats().consumed).toBe(3); // delivered; the poison was consumed, not delivered
  });

  it('read(): returns the events before it; the next read() reports it, consumed; then the rest', () => {
    const bus = busWithPoison();
    const reader = bus.reader<string>('r', { codecs: [failing] });
    expect(reader.read().map((e) => e.value)).toEqual(['a', 'b']);
    reader.commit();
    expect(() => reader.read()).toThrow(DecodeError);
    expect(reader.read().map((e) => e.value)).toEqual(['c']);
  });

  it('for await: throws it once, consumed; a new loop goes on after it', async () => {
    const bus = busWithPoison();
    const reader = bus.reader<string>('r', { codecs: [failing] });
    const got: string[] = [];
    await expect(
      (async () => {
        for await (const e of reader) got.push(e.value);
      })(),
    ).rejects.toThrow(DecodeError);
    bus.close();
    for await (const e of reader) got.push(e.value);
    expect(got).toEqual(['a', 'b', 'c']);
  });

  it('a lossy reader: reported once, then the rest', () => {
    const bus = busWithPoison();
    const reader = bus.reader<string>('tap', { codecs: [failing], lossy: true, start: 'oldest' });
    const got: string[] = [];
    expect(() => {
      for (let i = 0; i < 3; i++) reader.poll((v) => got.push(v));
    }).toThrow(DecodeError);
    reader.poll((v) => got.push(v));
    expect(got).toEqual(['a', 'b', 'c']);
  });

  it("a reader that lacks the writer's codec: the same, with the bytes to decode elsewhere", () => {
    const bus = busWithPoison();
    const reader = bus.reader<string>('r');
    expect(() => reader.poll(() => undefined)).toThrow(/does not know/);
    expect(() => reader.poll(() => undefined)).toThrow(DecodeError); // the next one: each is reported, none delivered twice
  });
});

describe("the 'structured' codec refuses what it could not read back", () => {
  it('an Error that is its own cause', () => {
    const bus = createBus({ capacity: 1 << 16, topics: ['t'] });
    const reader = bus.reader('r');
    const error = new Error('loop');
    error.cause = error;
    let refused: unknown;
    try {
      bus.publish('t', error);
    } catch (e) {
      refused = e;
    }
    bus.publish('t', 'after');
    const got: unknown[] = [];
    reader.poll((v) => got.push(v));
    if (refused !== undefined) {
      expect(refused).toBeInstanceOf(EncodeError);
      expect(got).toEqual(['after']);
    } else {
      expect(got).toHaveLength(2); // read back, so it can be read
      expect(got[1]).toBe('after');
    }
  });

  it('a value nested 2,000 levels deep: refused or readable, never a record that fails every reader', () => {
    const bus = createBus({ capacity: 1 << 16, topics: ['t'] });
    const reader = bus.reader('r');
    const root: Record<string, unknown> = {};
    let node = root;
    for (let i = 0; i < 2000; i++) node = (node.n = {}) as Record<string, unknown>;
    let refused: unknown;
    try {
      bus.publish('t', root);
    } catch (e) {
      refused = e;
    }
    if (refused !== undefined) expect(refused).toBeInstanceOf(EncodeError);
    bus.publish('t', 'after');
    const got: unknown[] = [];
    reader.poll((v) => got.push(v));
    expect(got[got.length - 1]).toBe('after');
  });
});
