import { afterEach } from 'vitest';
import type { Pipeline, Reader } from 'ringbus';

/** A stage module from test/workers/stages, compiled to dist-dev. */
export function stageUrl(name: string): URL {
  return new URL(`../dist-dev/test/workers/stages/${name}.js`, import.meta.url);
}

/** Reads `count` events from `reader` on this (main) thread, or throws after `timeoutMs`. */
export async function collect<T>(reader: Reader<T>, count: number, timeoutMs: number): Promise<{ topic: string; value: T }[]> {
  const events: { topic: string; value: T }[] = [];
  const deadline = performance.now() + timeoutMs;
  while (events.length < count) {
    reader.poll((value, topic) => events.push({ topic, value }), Math.min(4096, count - events.length));
    if (events.length >= count) break;
    const left = deadline - performance.now();
    if (left <= 0) throw new Error(`collected ${events.length} of ${count} events within ${timeoutMs} ms`);
    await reader.waitAsync(Math.min(left, 100));
  }
  return events;
}

/** Returns `track(p)`: every pipeline tracked in a test is closed after it, passed or failed. */
export function closedAfterEach(): (p: Pipeline) => Pipeline {
  let running: Pipeline[] = [];
  afterEach(async () => {
    await Promise.all(running.map((p) => p.close()));
    running = [];
  });
  return (p) => {
    running.push(p);
    return p;
  };
}
