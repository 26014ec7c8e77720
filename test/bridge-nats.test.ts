// The NATS JetStream bridge against a real nats-server on loopback (started here, stopped by pid).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsServer, type Server } from './bridge-servers.js';
import { trip } from './bridge-helpers.js';

let server: Server;
beforeAll(async () => {
  server = await natsServer();
  await server.start();
});
afterAll(async () => {
  await server?.dispose();
});

describe('NATS JetStream bridge', () => {
  it('carries 200,000 events from two producers out of bus A and into bus B: each once, in each producer\'s order', async () => {
    const t = trip({ kind: 'nats', server, tag: 'bulk', producers: 2, perProducer: 100_000 });
    try {
      await t.out.start();
      await t.into.start();
      t.startProducers();
      const stats = await t.finish();
      expect(stats.out).toMatchObject({ state: 'closed', published: 200_000, duplicates: 0, deadLetters: 0 });
      expect(stats.into).toMatchObject({ published: 200_000, duplicates: 0 });
    } finally {
      await t.dispose();
    }
  });
});
