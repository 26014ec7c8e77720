import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const cli = fileURLToPath(new URL('../dist/cli/index.js', import.meta.url));
const service = fileURLToPath(new URL('../dist-dev/test/workers/example-service.js', import.meta.url));
const hasTmux = (() => {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

let example: ChildProcess;
let url: string;
beforeAll(async () => {
  example = spawn(process.execPath, [service], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the example service printed no URL within 20 s')), 20_000);
    let text = '';
    example.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const line = text.split('\n').find((l) => l.startsWith('http://'));
      if (line !== undefined) {
        clearTimeout(timer);
        resolve(line.trim());
      }
    });
    example.once('exit', (code) => reject(new Error(`the example service exited (${code})`)));
  });
  await new Promise((resolve) => setTimeout(resolve, 1_500)); // past its stall threshold (1 s)
});
afterAll(() => {
  example?.kill('SIGTERM');
});

function run(args: string[], timeoutMs = 15_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cli, ...args], { cwd: root, timeout: timeoutMs, env: { ...process.env, NO_COLOR: '1' } }, (error, stdout, stderr) =>
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** `ringbus top URL` live (not --once), its stdin and stdout pipes: neither is a terminal. */
function spawnLive(args: string[] = []): ChildProcess {
  return spawn(process.execPath, [cli, 'top', url, '--interval', '200', ...args], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
}

/** Resolves with the child's stdout so far once `done(stdout)` holds; rejects if it exits first or `timeoutMs` passes. */
function stdoutUntil(child: ChildProcess, done: (stdout: string) => boolean, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    const finish = (error?: Error) => {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve(text);
    };
    const onData = (chunk: Buffer) => {
      text += chunk.toString();
      if (done(text)) finish();
    };
    const onExit = (code: number | null) => finish(new Error(`top exited (${code}) early; its output:\n${text}`));
    const timer = setTimeout(() => finish(new Error(`not seen within ${timeoutMs} ms; the output:\n${text}`)), timeoutMs);
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}

/** The child's exit code, or a rejection (and SIGKILL) if it has not exited within `timeoutMs`. */
function exitCode(child: ChildProcess, timeoutMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`top did not exit within ${timeoutMs} ms`));
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

const frames = (stdout: string) => stdout.split('ringbus top  ').length - 1;

/** The figures of a frame's rows, by their first word. */
function row(frame: string, first: RegExp): string {
  const line = frame.split('\n').find((l) => first.test(l));
  if (line === undefined) throw new Error(`no row ${first} in:\n${frame}`);
  return line;
}

function checkFrame(frame: string): void {
  expect(frame).toContain(`ringbus top  ${url}`);
  // 100 events every 100 ms: about 1,000/s (timers on a busy machine run late, never early)
  const published = Number(/published ([\d,]+)\/s/.exec(row(frame, /^bus orders/))![1].replace(/,/g, ''));
  expect(published).toBeGreaterThan(300);
  expect(published).toBeLessThan(1_600);
  expect(row(frame, /^\s+audit /)).toMatch(/gating\s+·{20}\s+0%\s+0\s+[\d,]+\/s$/);
  const billing = row(frame, /billing/);
  expect(billing).toMatch(/^▶ billing\s+gating\s+[█▏▎▍▌▋▊▉·]{20}\s+\d+%\s+[\d,]+\s+0\/s\s+◀ slowest$/);
  const step = row(frame, /^\s+step /);
  const [workers, inRate, outRate, lag, errors, dead, heals] = step.trim().split(/\s+/).slice(1);
  expect([workers, lag, errors, dead, heals]).toEqual(['1', expect.stringMatching(/^\d+$/), '0', '0', '0']);
  expect(Number(inRate.replace(/[,/s]/g, ''))).toBeGreaterThan(100);
  expect(outRate).toBe(inRate); // one emit per event
  expect(row(frame, /^\s+stalled-reader /)).toMatch(/bus orders, reader billing/);
}

describe('ringbus top', () => {
  it('--once prints the buses, readers with lag bars and rates, the slowest marked, the stages and the health conditions', async () => {
    const { code, stdout, stderr } = await run(['top', url, '--once', '--interval', '1000']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    checkFrame(stdout);
    expect(stdout).not.toContain('q quits'); // it has quit already
  });

  it('prints every kind of reader whole in the kind column', async () => {
    const kinds = ['gating', 'lossy', 'group', 'member', 'keyed-group', 'keyed-member'];
    const metrics = [
      '# TYPE ringbus_capacity_bytes gauge',
      'ringbus_capacity_bytes{bus="b"} 65536',
      '# TYPE ringbus_backlog_bytes gauge',
      'ringbus_backlog_bytes{bus="b"} 0',
      ...['ringbus_reader_lag_bytes', 'ringbus_reader_lag_events'].flatMap((name) => [
        `# TYPE ${name} gauge`,
        ...kinds.map((kind) => `${name}{bus="b",reader="r-${kind}",kind="${kind}"} 0`),
      ]),
      '',
    ].join('\n');
    const server = createServer((_, response) => response.end(metrics));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { code, stdout, stderr } = await run(['top', `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`, '--once', '--interval', '100']);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const header = row(stdout, /^\s+reader /);
      const column = header.indexOf(' kind ') + 1;
      for (const kind of kinds) {
        const line = row(stdout, new RegExp(`^\\s+r-${kind} `));
        expect(line.slice(column)).toMatch(new RegExp(`^${kind}\\s+·{20}\\s+0%`)); // whole, under the header, the bars aligned
      }
    } finally {
      server.close();
    }
  });

  it('writes plain frames when the output is not a terminal, and an ended stdin does not stop it', async () => {
    const child = spawnLive();
    try {
      child.stdin!.end(); // nothing to read: top carries on until a signal
      const stdout = await stdoutUntil(child, (text) => frames(text) >= 2 && text.endsWith('\n'));
      child.kill('SIGTERM');
      expect(await exitCode(child)).toBe(0);
      expect(stdout).not.toContain('\x1b'); // no alternate screen, cursor movement, clearing or colour
      expect(stdout.startsWith(`ringbus top  ${url}`)).toBe(true);
      expect(stdout).toContain('q quits');
      expect(stdout).toMatch(/^bus orders /m);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('quits on a line "q" when stdin is a pipe', async () => {
    const child = spawnLive();
    try {
      await stdoutUntil(child, (text) => frames(text) >= 1);
      child.stdin!.write('x\n'); // any other line is ignored
      child.stdin!.write('q\n');
      expect(await exitCode(child)).toBe(0); // with stdin still open
    } finally {
      child.kill('SIGKILL');
    }
  });

  it.skipIf(!hasTmux)('refreshes every second in a terminal (tmux) and quits on q', async () => {
    const socket = `ringbus-top-${process.pid}`;
    const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8', timeout: 5_000 });
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    tmux('new-session', '-d', '-s', 'top', '-x', '120', '-y', '40', `NO_COLOR=1 ${process.execPath} ${cli} top ${url}; echo "top exited $?"; sleep 30`);
    try {
      const capture = () => tmux('capture-pane', '-p', '-t', 'top');
      let frame = '';
      for (const began = performance.now(); !/published [\d,]+\/s/.test(frame) && performance.now() - began < 10_000; await sleep(100)) frame = capture();
      checkFrame(frame.trimEnd());
      const clock = /(\d\d:\d\d:\d\d) UTC/.exec(frame)![1];
      await sleep(2_100);
      const later = capture();
      expect(/(\d\d:\d\d:\d\d) UTC/.exec(later)![1]).not.toBe(clock); // refreshed
      checkFrame(later.trimEnd());
      tmux('send-keys', '-t', 'top', 'q');
      // q ends top with 0 and gives the terminal back as it was (the alternate screen left)
      let after = capture();
      for (const began = performance.now(); !after.includes('top exited') && performance.now() - began < 5_000; await sleep(100)) after = capture();
      expect(after.trim()).toBe('top exited 0');
    } finally {
      try {
        tmux('kill-server');
      } catch {
        // already gone
      }
    }
  });

  it('an endpoint that cannot be reached, and bad arguments, exit with a message', async () => {
    const down = await run(['top', 'http://127.0.0.1:9/metrics', '--once', '--interval', '200']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^ringbus top: cannot scrape http:\/\/127\.0\.0\.1:9\/metrics: /);
    const noUrl = await run(['top']);
    expect(noUrl.code).toBe(2);
    expect(noUrl.stderr).toContain('usage: ringbus top URL');
    const badInterval = await run(['top', url, '--interval', 'fast']);
    expect(badInterval.code).toBe(2);
    expect(badInterval.stderr).toContain('--interval is a whole number of milliseconds');
    const badOption = await run(['top', url, '--colour']);
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toContain("Unknown option '--colour'");
  });
});
