// Two processes joined through NATS (examples/two-processes): A runs two stages and bridges
// 'enriched' out, B bridges it in and runs the third; B prints what one process running all
// three stages prints.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { missingServer, natsServer, type Server } from './bridge-servers.js';

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

const missing = missingServer('nats-server');
let server: Server;
beforeAll(async () => {
  if (missing !== undefined) return;
  server = await natsServer();
  await server.start();
});
afterAll(async () => {
  await server?.dispose();
});

(missing === undefined ? describe : describe.skip)(missing ?? 'examples/two-processes', () => it('two processes joined through JetStream give the output of the single-process pipeline', async () => {
  const count = '3000';
  const single = await run('single.mjs', [count]);
  const [b] = await Promise.all([run('b.mjs', [server.url, count]), run('a.mjs', [server.url, count])]);
  expect(single.trim().split('\n')).toHaveLength(3000);
  expect(b).toBe(single);
}));
