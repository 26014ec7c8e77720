// Typed topics: names and payloads checked at compile time.
import { createBus } from 'ringbus';

interface Order {
  id: number;
  total: number;
}
interface Refund {
  order: number;
  reason: string;
}

const bus = createBus<{ orders: Order; refunds: Refund }>({ topics: ['orders', 'refunds'] });
const audit = bus.reader('audit');
bus.publish('orders', { id: 1, total: 10 }); // checked: topic name and payload type
// @ts-expect-error: compile error, no such topic
if (process.argv.includes('--wrong')) bus.publish('refund', { id: 1 });
bus.publish('refunds', { order: 1, reason: 'late' });
bus.close();
for await (const event of audit) {
  if (event.topic === 'orders')
    console.log('order total', event.value.total); // narrowed to Order
  else console.log('refund reason', event.value.reason); // narrowed to Refund
}
