// The input both deployments get: `count` lines "id:word".
const WORDS = ['ring', 'bus', 'nats', 'stream', 'bridge', 'worker', 'atomics'];
export const lines = (count) => Array.from({ length: count }, (_, id) => `${id}:${WORDS[id % WORDS.length]}${id % 13}`);
export const stage = (name, consumes, produces) => ({ name, module: new URL(`./stages/${name}.mjs`, import.meta.url), consumes, produces });
