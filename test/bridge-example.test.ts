// Two processes joined through an engine (examples/two-processes): A runs two stages and
// bridges its output 'enriched' out, B bridges it in as its pipeline's input and runs the
// third; B prints what one process running all three stages prints. Through each engine.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingServer, natsServer, redisServer, type Server } from './bridge-servers.js';

const dir = fileURLToPath(new URL('../examples/two-processes/', import.meta.url));

function run(script: string, args: string[], timeoutMs = 40_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [dir + script, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      process.kill(child.pid!, 'SIGKILL');
      reject(new Error(`${script} did not finish within ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${script} exited with ${code}: ${err}`));
    });
  });
}

for (const [binary, make] of [
  ['nats-server', natsServer],
  ['redis-server', redisServer],
] as const) {
  const missing = missingServer(binary);
  let server: Server;
  (missing === undefined ? describe : describe.skip)(missing ?? `examples/two-processes through ${binary}`, () => {
    beforeAll(async () => {
      server = await make();
      await server.start();
    });
    afterAll(async () => {
      await server?.dispose();
    });
    it('two processes joined through the engine give the output of the single-process pipeline', async () => {
      const count = '3000';
      const single = await run('single.mjs', [count]);
      const [b] = await Promise.all([run('b.mjs', [server.url, count]), run('a.mjs', [server.url, count])]);
      expect(single.trim().split('\n')).toHaveLength(3000);
      expect(b).toBe(single);
    });
  });
}
