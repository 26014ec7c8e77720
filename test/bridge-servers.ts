// Starts nats-server and redis-server on free loopback ports in temporary directories, and
// stops them by their process ids. Where a binary is missing, the bridge tests are reported
// skipped, named with the line that installs them.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

const INSTALL = 'apt-get update && apt-get install -y nats-server redis-server (Debian/Ubuntu; .ci/run does it)';

/** The binary's path: on PATH, or in the sbin folders Debian installs servers to (not on a user's PATH); undefined if missing. */
export function findBinary(name: 'nats-server' | 'redis-server'): string | undefined {
  const folders = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin', '/usr/local/bin'];
  for (const folder of folders) {
    const path = join(folder, name);
    if (folder !== '' && existsSync(path)) return path;
  }
  return undefined;
}

/** Why the tests against `name` cannot run here (the line that installs it), or undefined when they can. */
export function missingServer(name: 'nats-server' | 'redis-server'): string | undefined {
  return findBinary(name) === undefined ? `skipped: ${name} is not installed; ${INSTALL}` : undefined;
}

export function requireBinary(name: 'nats-server' | 'redis-server'): string {
  const path = findBinary(name);
  if (path === undefined) throw new Error(`${name} is not installed, and the bridge tests run against a real server: ${INSTALL}`);
  return path;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface Server {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Starts the process (again, on the same port and directory). */
  start(): Promise<void>;
  /** SIGKILL, and waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (SIGKILL after 3 s), and waits for the exit. */
  stop(): Promise<void>;
  /** Stops it and removes its directory. */
  dispose(): Promise<void>;
}

abstract class Managed implements Server {
  readonly dir: string;
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  constructor(
    readonly port: number,
    readonly url: string,
    private readonly binary: string,
    label: string,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), `ringbus-${label}-`));
  }

  protected abstract args(): string[];
  protected abstract ready(): Promise<boolean>;

  async start(): Promise<void> {
    if (this.child !== null) throw new Error(`${this.binary} is already running`);
    const child = spawn(this.binary, this.args(), { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    let failed: Error | null = null;
    child.once('error', (e) => (failed = e));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (failed !== null) throw failed;
      if (child.exitCode !== null) throw new Error(`${this.binary} exited (${child.exitCode}) at start: ${stderr}`);
      if (await this.ready().catch(() => false)) return;
      await sleep(20);
    }
    await this.kill();
    throw new Error(`${this.binary} on port ${this.port} was not ready within 10 s: ${stderr}`);
  }

  async kill(): Promise<void> {
    await this.signal('SIGKILL', 5_000);
  }

  async stop(): Promise<void> {
    if (!(await this.signal('SIGTERM', 3_000))) await this.kill();
  }

  private async signal(signal: NodeJS.Signals, ms: number): Promise<boolean> {
    const child = this.child;
    if (child === null) return true;
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, signal);
    const gone = await Promise.race([this.exited.then(() => true), sleep(ms).then(() => false)]);
    if (gone) this.child = null;
    return gone;
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

class Nats extends Managed {
  constructor(
    binary: string,
    port: number,
    private readonly monitor: number,
  ) {
    super(port, `nats://127.0.0.1:${port}`, binary, 'nats');
  }
  protected args(): string[] {
    return ['-a', '127.0.0.1', '-p', String(this.port), '-m', String(this.monitor), '-js', '-sd', this.dir];
  }
  protected async ready(): Promise<boolean> {
    const res = await fetch(`http://127.0.0.1:${this.monitor}/healthz?js-enabled-only=true`);
    return res.status === 200;
  }
}

class Redis extends Managed {
  constructor(binary: string, port: number) {
    super(port, `redis://127.0.0.1:${port}`, binary, 'redis');
  }
  protected args(): string[] {
    return ['--bind', '127.0.0.1', '--port', String(this.port), '--save', '', '--appendonly', 'yes', '--dir', this.dir];
  }
  protected ready(): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = connect(this.port, '127.0.0.1');
      let reply = '';
      socket.on('connect', () => socket.write('PING\r\n'));
      socket.on('data', (d) => {
        reply += d;
        if (reply.includes('\r\n')) {
          socket.destroy();
          resolve(reply.startsWith('+PONG'));
        }
      });
      socket.on('error', () => resolve(false));
    });
  }
}

/** A nats-server with JetStream, not started yet (`start()`), so a test can try it unreachable first. */
export async function natsServer(): Promise<Server> {
  return new Nats(requireBinary('nats-server'), await freePort(), await freePort());
}

export async function redisServer(): Promise<Server> {
  return new Redis(requireBinary('redis-server'), await freePort());
}
