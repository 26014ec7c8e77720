// Typed topics are checked by the compiler: `npm run typecheck` compiles this file, so each
// `@ts-expect-error` below fails the check if the line it marks ever compiles, and each
// expectTypeOf fails it if the type differs. At run time the typed bus is the same bus.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { attach, type Bus, createBus, InvalidKeyError, type Reader, type TopicEvent, watchHealth } from 'ringbus';

interface Order {
  id: number;
  total: number;
}
interface Refund {
  order: number;
  reason: string;
}
type Shop = { orders: Order; refunds: Refund };

describe('typed topics', () => {
  it('check topic names and payloads when publishing', () => {
    const bus = createBus<Shop>({ capacity: 1 << 16, topics: ['orders', 'refunds'] });
    bus.publish('orders', { id: 1, total: 10 });
    bus.publishBatch('refunds', [{ order: 1, reason: 'late' }]);
    expect(bus.tryPublish('orders', { id: 2, total: 20 })).toBe(true);
    bus.publishEvents([
      { topic: 'orders', value: { id: 3, total: 30 } },
      { topic: 'refunds', value: { order: 3, reason: 'broken' } },
    ]);
    bus.claim('orders', 8).abort();
    // @ts-expect-error: not a topic of the map
    expect(() => bus.publish('returns', { id: 1, total: 1 })).toThrow(/unknown topic "returns"/);
    // @ts-expect-error: a refund is not an order
    bus.publish('orders', { order: 1, reason: 'x' });
    // @ts-expect-error: values of another topic in a batch
    bus.publishBatch('orders', [{ order: 1, reason: 'x' }]);
    // @ts-expect-error: an event whose value does not match its topic
    bus.publishEvents([{ topic: 'refunds', value: { id: 1, total: 1 } }]);
    // @ts-expect-error: the map's topics only
    createBus<Shop>({ topics: ['orders', 'returns'] });
    // @ts-expect-error: claim names a topic of the map
    expect(() => bus.claim('returns', 8)).toThrow(/unknown topic/);
    bus.close();
  });

  it('type what readers deliver by topic: poll, read, take and iteration', async () => {
    const bus = createBus<Shop>({ capacity: 1 << 16, topics: ['orders', 'refunds'] });
    const all = bus.reader('all');
    const onlyOrders = bus.reader('orders-only', { topics: ['orders'] });
    // @ts-expect-error: a reader's topics are topics of the map
    expect(() => bus.reader('bad', { topics: ['returns'] })).toThrow();
    bus.publish('orders', { id: 1, total: 10 });
    bus.publish('refunds', { order: 1, reason: 'late' });
    bus.close();

    const seen: string[] = [];
    all.poll((value, topic) => {
      expectTypeOf(value).toEqualTypeOf<Order | Refund>();
      expectTypeOf(topic).toEqualTypeOf<'orders' | 'refunds'>();
      seen.push(`${topic} ${JSON.stringify(value)}`);
    }, 10);
    expect(seen).toEqual(['orders {"id":1,"total":10}', 'refunds {"order":1,"reason":"late"}']);

    const events = onlyOrders.read(10);
    expectTypeOf(events).toEqualTypeOf<TopicEvent<Shop, 'orders'>[]>();
    expect(events.map((e) => [e.topic, e.value.total])).toEqual([['orders', 10]]);
    onlyOrders.commit();

    const again = bus.reader('again', { start: 'oldest' });
    const totals: number[] = [];
    for await (const event of again) {
      if (event.topic === 'orders') totals.push(event.value.total);
      // @ts-expect-error: a refund has no total
      else totals.push(event.value.total);
    }
    expect(totals).toEqual([10, undefined]);
  });

  it("type keyOf by the batch: its value is the topic's type, on typed and untyped buses", async () => {
    const bus = createBus<Shop>({ capacity: 1 << 16, topics: ['orders', 'refunds'] });
    const member = bus.reader('m', { group: 'shops', keyed: true });
    bus.publishBatch('orders', [{ id: 7, total: 1 }], { keyOf: (order) => order.id });
    await bus.publishBatchAsync('refunds', [{ order: 7, reason: 'late' }], { keyOf: (refund, i) => `${refund.reason}-${i}` });
    // @ts-expect-error: an order has no reason
    expect(() => bus.publishBatch('orders', [{ id: 8, total: 1 }], { keyOf: (order) => order.reason })).toThrow(InvalidKeyError);
    // @ts-expect-error: a key is a string or a number
    expect(() => bus.publishBatch('orders', [{ id: 9, total: 1 }], { keyOf: () => true })).toThrow(InvalidKeyError);
    const untyped = createBus({ capacity: 4096 });
    const moves = [{ game: 'g-17', move: 4 }];
    untyped.publishBatch('default', moves, { keyOf: (m) => m.game }); // README's keyed snippet
    expect(member.read().map((e) => e.value)).toEqual([
      { id: 7, total: 1 },
      { order: 7, reason: 'late' },
    ]);
    bus.close();
    untyped.close();
  });

  it('leave untyped buses as they were, and a typed bus goes where a Bus does', () => {
    const bus = createBus({ capacity: 4096, topics: ['t'] });
    bus.publish('t', { anything: true });
    const reader = bus.reader<{ anything: boolean }>('r');
    expectTypeOf(reader).toEqualTypeOf<Reader<{ anything: boolean }>>();
    reader.poll((value, topic) => {
      expectTypeOf(value).toEqualTypeOf<{ anything: boolean }>();
      expectTypeOf(topic).toEqualTypeOf<string>();
    }, 1);
    const typed = createBus<Shop>({ capacity: 4096, topics: ['orders', 'refunds'] });
    const asBus: Bus = typed;
    expectTypeOf(attach<Shop>(typed.handle)).toEqualTypeOf<Bus<Shop>>();
    const watch = watchHealth({ buses: { shop: typed } });
    watch.close();
    expect(asBus.topics).toEqual(['orders', 'refunds']);
    bus.close();
    typed.close();
  });
});
