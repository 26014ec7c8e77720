import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { workerUrl } from './harness.js';

interface Outcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs dist-dev/test/workers/lone-waits.js in its own node process; kills it after `killAfterMs`. */
function child(args: string[], killAfterMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, [fileURLToPath(workerUrl('lone-waits')), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (chunk) => (stdout += chunk));
    proc.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
    proc.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('async waits hold their thread alive', () => {
  // Each child has nothing but ringbus's waits to keep it alive: 200 waits of 20 ms each
  // (4 s). Before the fix every one of these exited in the middle, after 7 to 67 waits,
  // without printing its last line; the children run side by side (they mostly sleep).
  it('waitAsync, a waiting group member worker, publishAsync, publishBatchAsync and drain timeouts all complete', async () => {
    const modes = ['waitAsync', 'waitAsync', 'worker', 'publishAsync', 'publishBatchAsync', 'drain'];
    const outcomes = await Promise.all(modes.map((mode) => child([mode, '200', '20'], 40_000)));
    for (const [i, outcome] of outcomes.entries()) {
      expect({ mode: modes[i], ...outcome }).toEqual({ mode: modes[i], code: 0, signal: null, stdout: `done ${modes[i]}\n`, stderr: '' });
    }
  });

  it('a for await on an open bus with nothing published keeps its process alive until killed', async () => {
    const outcome = await child(['forAwait'], 4_000);
    expect(outcome).toEqual({ code: null, signal: 'SIGKILL', stdout: 'waiting\n', stderr: '' });
  });
});
