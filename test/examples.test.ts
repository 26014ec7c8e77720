// Every example in examples/ (the README's snippets, as complete programs) compiles with
// examples/tsconfig.json, the configuration the README gives for the quick start, and
// prints what it says it does.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const examples = fileURLToPath(new URL('../examples/', import.meta.url));
const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));

function run(file: string, timeoutMs = 60_000): Promise<{ out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [`${examples}dist/${file}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} did not finish within ${timeoutMs} ms: ${err}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve({ out, err });
      else reject(new Error(`${file} exited with ${code}: ${err}`));
    });
  });
}

beforeAll(() => {
  rmSync(`${examples}dist`, { recursive: true, force: true });
  execFileSync(process.execPath, [tsc, '-p', `${examples}tsconfig.json`], { encoding: 'utf8', timeout: 120_000 });
}, 150_000);

describe('examples', () => {
  it('the README quick start is examples/quick-start, word for word, and prints every event in order', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const file of ['main.ts', 'producer.ts']) expect(readme).toContain(readFileSync(`${examples}quick-start/${file}`, 'utf8'));
    const { out, err } = await run('quick-start/main.js');
    expect(err).toBe('');
    expect(out).toBe(Array.from({ length: 1002 }, (_, i) => `${i} orders ${i}\n`).join(''));
  });

  it('worker-reader: a worker reads every event without the event loop', async () => {
    expect((await run('worker-reader/main.js')).out).toBe('indexed 1000 documents\n');
  });

  it('readers: each kind of reader gets what the README says', async () => {
    expect((await run('readers/main.js')).out).toBe(
      [
        'audit: orders:0 orders:1 refunds:2 orders:3 orders:4 refunds:5',
        'billing: orders:0 orders:1 orders:3 orders:4',
        'store: orders:0 orders:1 refunds:2 orders:3 orders:4 refunds:5',
        'w1: orders:0 orders:1 orders:4 refunds:5',
        'w2: refunds:2 orders:3',
        'tap: orders:0 orders:1 refunds:2 orders:3 orders:4 refunds:5',
        'tail: orders:3 orders:4 refunds:5',
        '',
      ].join('\n'),
    );
  });

  it('typed-topics: events narrowed by topic', async () => {
    expect((await run('typed-topics/main.js')).out).toBe('order total 10\nrefund reason late\n');
  });

  it('pipeline: three stages, the graph and every line indexed', async () => {
    const { out } = await run('pipeline/main.js');
    expect(out).toContain('flowchart LR');
    expect(out).toContain('s1["enrich ×2"]');
    expect(
      out
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('indexed ')),
    ).toEqual([
      'indexed {"id":0,"key":"ada#3"}',
      'indexed {"id":1,"key":"grace#5"}',
      'indexed {"id":2,"key":"edsger#6"}',
      'indexed {"id":3,"key":"barbara#7"}',
      'indexed {"id":4,"key":"ken#3"}',
    ]);
  });

  it('observe: a scrape shows the bus', async () => {
    expect((await run('observe/main.js')).out).toBe('ringbus_published_events_total{bus="orders"} 1\n');
  });
});
