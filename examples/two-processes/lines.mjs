// The input both deployments get: `count` lines "id:word".
const WORDS = ['ring', 'bus', 'nats', 'stream', 'bridge', 'worker', 'atomics'];
export const lines = (count) => Array.from({ length: count }, (_, id) => `${id}:${WORDS[id % WORDS.length]}${id % 13}`);
export const stage = (name, consumes, produces) => ({ name, module: new URL(`./stages/${name}.mjs`, import.meta.url), consumes, produces });

/** The bridges and engine for a server URL: nats://… (JetStream) or redis://… (Redis Streams). */
export async function engineAt(url) {
  if (url.startsWith('redis://')) {
    const { bridgeIn, bridgeOut, redisEngine } = await import('ringbus/redis');
    return { bridgeIn, bridgeOut, engine: redisEngine({ url, keyPrefix: 'example' }) };
  }
  const { bridgeIn, bridgeOut, natsEngine } = await import('ringbus/nats');
  return { bridgeIn, bridgeOut, engine: natsEngine({ servers: url, stream: 'EXAMPLE' }) };
}
