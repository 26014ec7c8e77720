import { describe, expect, it } from 'vitest';
import { createPipeline, type DeadLetter } from 'ringbus';
import { closedAfterEach, collect, stageUrl } from './pipeline-helpers.js';

const track = closedAfterEach();

describe('pipeline reliability', () => {
  it("codec 'raw': a loop stage emitting its input views on a full 4 KiB loop ring loses and duplicates nothing (10,000 events)", async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        codec: 'raw',
        capacity: 4096,
        outputCapacity: 1 << 20,
        stages: [{ name: 'loop', module: stageUrl('view-loop'), consumes: ['in', 'again'], produces: ['again', 'out'], batchSize: 64 }],
      }),
    );
    const out = p.output.reader<Uint8Array>('check');
    await p.start();
    const n = 10_000;
    const bytes = (id: number) => new Uint8Array([id & 0xff, (id >> 8) & 0xff, (id >> 16) & 0xff, 0x5a, 0xa5, id % 251, 0x11, 0x22]);
    for (let i = 0; i < n; i += 500)
      await p.publishBatchAsync(
        'in',
        Array.from({ length: 500 }, (_, k) => bytes(i + k)),
        { timeoutMs: 30_000 },
      );
    await p.drain({ timeoutMs: 30_000 });
    const got = new Map<string, number>();
    let count = 0;
    out.poll((value) => {
      count++;
      const key = Array.from(value).join(',');
      got.set(key, (got.get(key) ?? 0) + 1);
    }, 1 << 20);
    expect(count).toBe(n);
    const missing: number[] = [];
    for (let id = 0; id < n; id++) {
      const key = Array.from(bytes(id)).join(',');
      if (got.get(key) !== 1) missing.push(id);
      got.delete(key);
    }
    expect(missing).toEqual([]); // each exactly once
    expect(got.size).toBe(0); // nothing invented
    expect(p.stats().spilledTotal).toBeGreaterThan(0); // the loop ring was full: the spill was used
  });
});

describe('an emit that cannot be encoded', () => {
  it('sends its input event to the dead letters with the attempt that succeeded, in a batch where other events pass', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        stages: [{ name: 'e', module: stageUrl('retry-then-bad-emit'), consumes: ['in'], produces: ['out'], retry: { attempts: 3 }, batchSize: 64 }],
      }),
    );
    const out = p.output.reader<{ id: number } | DeadLetter>('check');
    await p.start();
    const events = Array.from({ length: 40 }, (_, id) => ({ id, retry: id % 4 === 1 || id % 4 === 3, bad: id % 4 >= 2 }));
    await p.publishBatchAsync('in', events, { timeoutMs: 10_000 });
    const got = await collect(out, 40, 10_000);
    const passed = got.filter((e) => e.topic === 'out').map((e) => (e.value as { id: number }).id);
    const letters = got.filter((e) => e.topic !== 'out').map((e) => e.value as DeadLetter);
    expect(passed).toEqual(events.filter((e) => !e.bad).map((e) => e.id)); // each once, in order
    expect(letters.map((l) => [(l.value as { id: number }).id, l.attempts])).toEqual(events.filter((e) => e.bad).map((e) => [e.id, e.retry ? 2 : 1]));
  });
});

describe('dead letters on small rings', () => {
  const value = { id: 7, pad: 'abcdefghijklmnopqrst' }; // about 30 bytes in MessagePack

  function failing(options: Record<string, unknown>, extra: Partial<Parameters<typeof createPipeline>[0]> = {}) {
    return track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        capacity: 4096,
        stages: [{ name: 'fail', module: stageUrl('fail-with'), consumes: ['in'], produces: ['out'], retry: { attempts: 1 }, options }],
        ...extra,
      }),
    );
  }

  it('an error with a 312-character message: the value and the whole message arrive, the stack is trimmed', async () => {
    const p = failing({ messageLength: 312 });
    const dead = p.output.reader<DeadLetter>('dead');
    await p.start();
    await p.publishAsync('in', value);
    const [letter] = await collect(dead, 1, 10_000);
    expect(letter.value.value).toEqual(value);
    expect(letter.value.valueOmitted).toBeUndefined();
    expect(letter.value.error.message).toBe(`m${'e'.repeat(310)}.`);
    expect(letter.value.error.stack === undefined || letter.value.error.stack.endsWith('…')).toBe(true);
    await p.drain({ timeoutMs: 10_000 }); // the stats are written after the letters are published
    expect(p.stats().stages[0]).toMatchObject({ deadLetters: 1, deadLettersWithoutValue: 0 });
  });

  it('an UndeclaredTopicError (over 1 KB with its stack): the value arrives with the error, stack trimmed', async () => {
    const p = failing({ undeclared: true });
    const dead = p.output.reader<DeadLetter>('dead');
    await p.start();
    await p.publishAsync('in', value);
    const [letter] = await collect(dead, 1, 10_000);
    expect(letter.value).toMatchObject({ stage: 'fail', topic: 'in', value, attempts: 1, error: { name: 'UndeclaredTopicError' } });
    expect(letter.value.error.message).toMatch(/emitted into "nowhere", which it does not declare/);
    expect(letter.value.valueOmitted).toBeUndefined();
  });

  it('a message too long for the ring is cut after the stack, and the value still arrives', async () => {
    const p = failing({ messageLength: 5000 });
    const dead = p.output.reader<DeadLetter>('dead');
    await p.start();
    await p.publishAsync('in', value);
    const [letter] = await collect(dead, 1, 10_000);
    expect(letter.value.value).toEqual(value);
    expect(letter.value.error.stack).toBeUndefined();
    expect(letter.value.error.message.startsWith('meee')).toBe(true);
    expect(letter.value.error.message.endsWith('…')).toBe(true);
    expect(letter.value.error.message.length).toBeGreaterThan(200);
  });

  it('with a repair stage on the dead letters, the event is repaired, not lost', async () => {
    const p = track(
      createPipeline({
        inputs: ['in'],
        outputs: ['out'],
        capacity: 4096,
        stages: [
          { name: 'fail', module: stageUrl('fail-with'), consumes: ['in'], produces: ['out'], retry: { attempts: 1 }, options: { undeclared: true } },
          { name: 'repair', module: stageUrl('repair'), consumes: ['dead-letter'], produces: ['out'] },
        ],
      }),
    );
    const out = p.output.reader<{ repaired: unknown; valueOmitted: boolean }>('out', { topics: ['out'] });
    await p.start();
    for (let id = 0; id < 50; id++) await p.publishAsync('in', { ...value, id });
    const events = await collect(out, 50, 10_000);
    expect(events.map((e) => e.value)).toEqual(Array.from({ length: 50 }, (_, id) => ({ repaired: { ...value, id }, valueOmitted: false })));
  });

  it('a value that cannot fit its dead letter at all is refused loudly: marked in the letter, with its size, and counted', async () => {
    const p = failing({ messageLength: 100 });
    const dead = p.output.reader<DeadLetter>('dead');
    await p.start();
    const big = { id: 8, pad: 'x'.repeat(p.output.maxPayload - 20) }; // fits the input ring, not a letter
    await p.publishAsync('in', big);
    await p.publishAsync('in', value);
    const letters = await collect(dead, 2, 10_000);
    expect(letters[0].value).toMatchObject({ stage: 'fail', value: null, valueOmitted: true, error: { name: 'Error', message: `m${'e'.repeat(98)}.` } });
    expect(letters[0].value.valueBytes).toBeGreaterThan(p.output.maxPayload - 20);
    expect(letters[1].value.value).toEqual(value); // the next one is not affected
    await p.drain({ timeoutMs: 10_000 }); // the stats are written after the letters are published
    expect(p.stats().stages[0]).toMatchObject({ deadLetters: 2, deadLettersWithoutValue: 1 });
  });
});
